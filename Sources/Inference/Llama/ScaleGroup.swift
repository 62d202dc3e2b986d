import TensorCore

/// A place in a decoder block where per-channel scales can move from a producer to the linear layers that read its
/// output without changing what the block computes: producer output channel `c` is divided by `s[c]` and every
/// consumer input column `j` is multiplied by `s[producerChannel(j)]`.
///
/// SmoothQuant and AWQ move activation difficulty into weights through these groups. For a Llama block they are the
/// input RMSNorm → q/k/v, v_proj → o_proj (attention is linear in the values; with grouped-query attention one value
/// channel feeds the same dimension of every query head of its group), the post-attention RMSNorm → gate/up, and
/// up_proj → down_proj (SwiGLU is linear in the up branch).
public struct ScaleGroup<Block: TransformerBlock>: @unchecked Sendable {
    /// What produces the scaled channels.
    public enum Producer {
        /// A norm's weight `[channels]` (RMSNorm), and its bias `[channels]` when it has one (LayerNorm).
        case norm(WritableKeyPath<Block, Tensor>, bias: WritableKeyPath<Block, Tensor>? = nil)
        /// A linear layer's output rows (and bias).
        case linear(WritableKeyPath<Block, Linear>)
    }

    /// Short name for reports, e.g. `input_layernorm→q/k/v`.
    public let name: String
    public let producer: Producer
    /// Linears reading the producer's output, in execution order; the first one's input is the group's input.
    public let consumers: [WritableKeyPath<Block, Linear>]
    /// Producer channels (the length of a scale vector).
    public let channelCount: Int
    /// Input width of each consumer.
    public let consumerWidth: Int
    /// Consumers whose outputs form attention scores (queries and keys): their output error passes through a
    /// softmax, so weight searches that score the output directly may skip them.
    public let attentionScoreConsumers: [WritableKeyPath<Block, Linear>]
    /// Consumer columns per head and heads sharing one producer head (v → o under grouped-query attention); 0 when
    /// consumer column `j` reads producer channel `j`.
    private let headDimension: Int
    private let headsPerProducerHead: Int

    public init(name: String, producer: Producer, consumers: [WritableKeyPath<Block, Linear>], channelCount: Int,
         consumerWidth: Int, headDimension: Int = 0, headsPerProducerHead: Int = 1,
         attentionScoreConsumers: [WritableKeyPath<Block, Linear>] = []) {
        self.attentionScoreConsumers = attentionScoreConsumers
        self.name = name
        self.producer = producer
        self.consumers = consumers
        self.channelCount = channelCount
        self.consumerWidth = consumerWidth
        self.headDimension = headDimension
        self.headsPerProducerHead = headsPerProducerHead
    }

    /// The producer channel that consumer input column `column` reads.
    public func producerChannel(ofConsumerColumn column: Int) -> Int {
        guard headDimension > 0 else { return column }
        let head = column / headDimension
        return (head / headsPerProducerHead) * headDimension + column % headDimension
    }

    /// `scales` (one per producer channel) laid out over the consumers' input columns.
    public func consumerScales(_ scales: [Float]) -> [Float] {
        precondition(scales.count == channelCount)
        return (0..<consumerWidth).map { scales[producerChannel(ofConsumerColumn: $0)] }
    }

    /// Divides the producer's channels by `scales` and multiplies the consumers' input columns by them.
    public func apply(_ scales: [Float], to block: inout Block) {
        precondition(scales.count == channelCount && scales.allSatisfy { $0 > 0 && $0.isFinite })
        switch producer {
        case .norm(let path, let bias):
            for c in 0..<channelCount { block[keyPath: path].scalars[c] /= scales[c] }
            if let bias { for c in 0..<channelCount { block[keyPath: bias].scalars[c] /= scales[c] } }
        case .linear(let path):
            let width = block[keyPath: path].inFeatures
            block[keyPath: path].weight.scalars.withUnsafeMutableBufferPointer { w in
                for c in 0..<channelCount {
                    let inverse = 1 / scales[c]
                    for k in 0..<width { w[c * width + k] *= inverse }
                }
            }
            if block[keyPath: path].bias != nil {
                for c in 0..<channelCount { block[keyPath: path].bias!.scalars[c] /= scales[c] }
            }
        }
        let expanded = consumerScales(scales)
        for path in consumers {
            let rows = block[keyPath: path].outFeatures
            block[keyPath: path].weight.scalars.withUnsafeMutableBufferPointer { w in
                for r in 0..<rows {
                    for j in 0..<consumerWidth { w[r * consumerWidth + j] *= expanded[j] }
                }
            }
        }
    }
}

extension LlamaModel {
    /// The scale groups of every block (the same for all blocks of this architecture), producers in execution order.
    public var scaleGroups: [ScaleGroup<Block>] {
        let c = configuration
        return [
            ScaleGroup(name: "input_layernorm→q/k/v", producer: .norm(\.inputNorm),
                       consumers: [\.queryProjection, \.keyProjection, \.valueProjection],
                       channelCount: c.hiddenSize, consumerWidth: c.hiddenSize,
                       attentionScoreConsumers: [\.queryProjection, \.keyProjection]),
            ScaleGroup(name: "v_proj→o_proj", producer: .linear(\.valueProjection), consumers: [\.outputProjection],
                       channelCount: c.keyValueWidth, consumerWidth: c.queryWidth,
                       headDimension: c.headDimension, headsPerProducerHead: c.groupSize),
            ScaleGroup(name: "post_attention_layernorm→gate/up", producer: .norm(\.postAttentionNorm),
                       consumers: [\.gateProjection, \.upProjection],
                       channelCount: c.hiddenSize, consumerWidth: c.hiddenSize),
            ScaleGroup(name: "up_proj→down_proj", producer: .linear(\.upProjection), consumers: [\.downProjection],
                       channelCount: c.intermediateSize, consumerWidth: c.intermediateSize),
        ]
    }
}
