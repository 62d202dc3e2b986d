import Foundation
import Inference
import QuantCore
import Quantization
import TensorCore
import TestSupport
import Tokenization

/// Tiny models for the export tests: TinyLlama's weights with every row a whole number of 32-element GGML blocks
/// (hidden 64, FFN 128; TinyLlama's FFN of 48 is not), and TinyModelFiles' byte-level vocabulary.
enum ExportFixtures {
    /// `hiddenSize: 256, intermediateSize: 512` makes every row a whole K-quant super-block.
    static func configuration(tied: Bool = false, hiddenSize: Int = 64, intermediateSize: Int = 128)
        -> LlamaConfiguration
    {
        try! LlamaConfiguration(
            hiddenSize: hiddenSize, intermediateSize: intermediateSize, layerCount: 2, attentionHeadCount: 4, keyValueHeadCount: 2,
            vocabularySize: TinyModelFiles.vocabulary().tokens.count, rmsNormEpsilon: 1e-5, ropeTheta: 10_000,
            maxPositionEmbeddings: 256, tieWordEmbeddings: tied)
    }

    static func tokenizer() throws -> ByteLevelBPETokenizer {
        let v = TinyModelFiles.vocabulary()
        return try ByteLevelBPETokenizer(
            tokens: v.tokens, merges: v.merges, tokenTypes: v.tokenTypes, bosTokenID: nil,
            eosTokenID: v.tokens.count - 1, addBOS: false, ggufPreTokenizer: "gpt2")
    }

    /// A float model.
    static func floatModel(tied: Bool = false, seed: UInt64 = 1, superBlockRows: Bool = false) throws -> LlamaModel {
        let c =
            superBlockRows
            ? configuration(tied: tied, hiddenSize: 256, intermediateSize: 512) : configuration(tied: tied)
        return try LlamaModel(configuration: c, tensors: TinyLlama.tensors(c, seed: seed))
    }

    /// The model with every block linear (and an untied head) quantized to `scheme` by round to nearest.
    static func quantizedModel(
        _ scheme: QuantScheme, tied: Bool = false, seed: UInt64 = 1, superBlockRows: Bool = false
    ) throws -> LlamaModel {
        var model = try floatModel(tied: tied, seed: seed, superBlockRows: superBlockRows)
        for linear in model.linearLayers where !(tied && linear.name == "lm_head") {
            let stored = try TensorQuantizer.quantize(linear.weight, scheme: scheme)
            try model.updateLinear(linear.name) { try $0.setQuantizedWeight(stored) }
        }
        return model
    }

    static func loaded(_ model: LlamaModel, path: String = "tiny-llama") throws -> LoadedModel {
        LoadedModel(path: path, model: model, tokenizer: try tokenizer(), chatTemplate: nil, summary: "tiny")
    }

    static func int4(groupSize: Int = 32, symmetric: Bool) throws -> QuantScheme {
        try QuantScheme(
            dataType: symmetric ? .int4 : .uint4, granularity: .perGroup, groupSize: groupSize, isSymmetric: symmetric)
    }

    static func int8(granularity: QuantScheme.Granularity = .perChannel, symmetric: Bool = true) throws -> QuantScheme {
        try QuantScheme(
            dataType: .int8, granularity: granularity, groupSize: granularity == .perGroup ? 32 : nil,
            isSymmetric: symmetric)
    }

    /// Seeded values in [−scale, scale).
    static func values(_ count: Int, seed: UInt64, scale: Float = 1) -> [Float] {
        Fixtures.uniform(count: count, seed: seed, scale: scale)
    }
}
