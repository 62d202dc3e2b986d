/// How far exported weights are from the weights Quanta computes with, accumulated over tensors: what float16
/// scale rounding, a float cast or a re-quantization costs.
public struct WeightChange: Sendable, Equatable, Encodable {
    /// Elements compared.
    public private(set) var elementCount = 0
    /// Largest |exported − original|.
    public private(set) var maxAbsoluteChange: Float = 0
    /// Largest |exported − original| / |original| over nonzero originals.
    public private(set) var maxRelativeChange: Float = 0
    /// Largest |exported − original| in units of the element's Quanta quantization step (scale); 0 when the
    /// original is not a quantized weight.
    public private(set) var maxChangeInSteps: Float = 0
    private var sumSquaredChange: Double = 0
    private var sumSquaredOriginal: Double = 0

    enum CodingKeys: String, CodingKey {
        case elementCount = "element_count"
        case maxAbsoluteChange = "max_abs_change"
        case maxRelativeChange = "max_rel_change"
        case maxChangeInSteps = "max_change_in_steps"
        case relativeRMSChange = "rel_rms_change"
    }

    public init() {}

    /// ‖exported − original‖ / ‖original‖ over every element compared.
    public var relativeRMSChange: Double {
        sumSquaredOriginal > 0 ? (sumSquaredChange / sumSquaredOriginal).squareRoot() : 0
    }

    /// Adds one element; `step` is its quantization step (0 when it has none).
    @inline(__always)
    public mutating func add(original: Float, exported: Float, step: Float = 0) {
        let change = abs(exported - original)
        elementCount += 1
        maxAbsoluteChange = max(maxAbsoluteChange, change)
        if original != 0 { maxRelativeChange = max(maxRelativeChange, change / abs(original)) }
        if step > 0 { maxChangeInSteps = max(maxChangeInSteps, change / step) }
        sumSquaredChange += Double(change) * Double(change)
        sumSquaredOriginal += Double(original) * Double(original)
    }

    /// Adds every pair of two equally long arrays.
    public mutating func add(original: [Float], exported: [Float]) {
        precondition(original.count == exported.count)
        for (a, b) in zip(original, exported) { add(original: a, exported: b) }
    }

    /// Combines two accumulations.
    public mutating func merge(_ other: WeightChange) {
        elementCount += other.elementCount
        maxAbsoluteChange = max(maxAbsoluteChange, other.maxAbsoluteChange)
        maxRelativeChange = max(maxRelativeChange, other.maxRelativeChange)
        maxChangeInSteps = max(maxChangeInSteps, other.maxChangeInSteps)
        sumSquaredChange += other.sumSquaredChange
        sumSquaredOriginal += other.sumSquaredOriginal
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(elementCount, forKey: .elementCount)
        try c.encode(maxAbsoluteChange, forKey: .maxAbsoluteChange)
        try c.encode(maxRelativeChange, forKey: .maxRelativeChange)
        try c.encode(maxChangeInSteps, forKey: .maxChangeInSteps)
        try c.encode(relativeRMSChange, forKey: .relativeRMSChange)
    }
}
