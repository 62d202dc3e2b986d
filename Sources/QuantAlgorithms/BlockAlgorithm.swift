import Inference
import QuantCore
import TensorCore

/// One scale group of one block as the block-wise driver hands it to an algorithm: the group, the statistics of its
/// input over the calibration set (after the previous blocks were quantized), and the schemes of its consumers.
public struct ScaleGroupInput<Block: TransformerBlock> {
    /// The block's index, for reports.
    public let block: Int
    public let group: ScaleGroup<Block>
    public let statistics: ActivationStatistics
    /// Evenly spaced rows of the group's input `[rows, consumerWidth]`, when an algorithm asked for them.
    public let sample: Tensor?
    /// The weight and input schemes of the group's first consumer (nil: not quantized).
    public let weightScheme: QuantScheme?
    public let inputScheme: QuantScheme?
    /// The weight scheme of each consumer, in `group.consumers` order.
    public let consumerWeightSchemes: [QuantScheme?]

    public init(
        block: Int, group: ScaleGroup<Block>, statistics: ActivationStatistics, sample: Tensor?, weightScheme: QuantScheme?,
        inputScheme: QuantScheme?, consumerWeightSchemes: [QuantScheme?]
    ) {
        self.block = block
        self.group = group
        self.statistics = statistics
        self.sample = sample
        self.weightScheme = weightScheme
        self.inputScheme = inputScheme
        self.consumerWeightSchemes = consumerWeightSchemes
    }
}

/// What the driver must collect for an algorithm besides per-channel maxima and means.
public struct CalibrationNeeds: Sendable, Equatable {
    /// The Gram matrix XᵀX of each group's input.
    public var gram = false
    /// A sample of each group's input rows.
    public var sample = false
    public init(gram: Bool = false, sample: Bool = false) {
        self.gram = gram
        self.sample = sample
    }
}

/// An algorithm that transforms the whole float model before calibration (rotation).
public protocol ModelTransforming: Sendable {
    /// Transforms `model` in place without changing its function; returns one line for the log.
    func transform(_ model: inout LlamaModel) throws -> String
}

/// An algorithm that moves per-channel scales through a block's scale groups (SmoothQuant, AWQ), keeping the float
/// block's function; the driver then divides the group's statistics by the same scales.
public protocol ScaleMigrating: Sendable {
    var calibrationNeeds: CalibrationNeeds { get }
    /// Chooses scales for one group and applies them to `block`; nil when the algorithm leaves the group alone.
    func migrate<Block: TransformerBlock>(_ input: ScaleGroupInput<Block>, in block: inout Block) throws -> (scales: [Float], report: AlgorithmReport)?
    /// After every group has migrated: changes to the group's consumers' weights that are not scale migrations
    /// (AWQ's clipping). The float reference does not follow them.
    func adjustWeights<Block: TransformerBlock>(_ input: ScaleGroupInput<Block>, in block: inout Block) throws -> [AlgorithmReport]
}

extension ScaleMigrating {
    public func adjustWeights<Block: TransformerBlock>(_ input: ScaleGroupInput<Block>, in block: inout Block) throws -> [AlgorithmReport] { [] }
}

/// An algorithm that chooses a layer's weight codes from its input's Hessian (GPTQ), in place of round-to-nearest.
public protocol WeightRounding: Sendable {
    /// - Parameters: `weight: [outFeatures, inFeatures]`; `hessian` of the layer's input; `layer` for the report.
    /// - Returns: the stored codes, their dequantized values and a report.
    func round(_ weight: Tensor, hessian: HessianAccumulator, scheme: QuantScheme, layer: String, block: Int) throws
        -> (quantized: QuantizedTensor, weight: Tensor, report: AlgorithmReport)
}

extension AlgorithmStep {
    /// What the step is to the driver.
    public enum Role {
        case modelTransform(any ModelTransforming)
        case scaleMigration(any ScaleMigrating)
        case weightRounding(any WeightRounding)
    }
}
