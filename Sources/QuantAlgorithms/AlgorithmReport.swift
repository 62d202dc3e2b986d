/// One thing a quantization algorithm did, to a scale group or a layer of one block, with the error it measured
/// before and after (the algorithm's own proxy: output mean squared error on calibration data).
public struct AlgorithmReport: Codable, Sendable, Equatable {
    public var algorithm: String
    public var block: Int
    /// A scale group (`input_layernorm→q/k/v`) or a layer name.
    public var target: String
    /// The choice made (`alpha 0.50`, `ratio 0.35`, `clipped 12%`, `damp 0.01`).
    public var choice: String
    public var lossBefore: Double?
    public var lossAfter: Double?

    public init(algorithm: String, block: Int, target: String, choice: String, lossBefore: Double?, lossAfter: Double?) {
        self.algorithm = algorithm
        self.block = block
        self.target = target
        self.choice = choice
        self.lossBefore = lossBefore
        self.lossAfter = lossAfter
    }

    enum CodingKeys: String, CodingKey {
        case algorithm, block, target, choice
        case lossBefore = "loss_before"
        case lossAfter = "loss_after"
    }
}
