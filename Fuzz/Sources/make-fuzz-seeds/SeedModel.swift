import Foundation
import Inference
import Pipeline
import QuantCore
import Quantization
import TestSupport
import Tokenization

/// The tiny model behind the saved-folder, compressed-tensors, ONNX and exported-GGUF seeds: one layer, hidden 32,
/// vocabulary 32, tied embeddings, so each seed stays a few KB.
enum SeedModel {
    static func configuration(vocabularySize: Int = 32) throws -> LlamaConfiguration {
        try LlamaConfiguration(
            hiddenSize: 32, intermediateSize: 64, layerCount: 1, attentionHeadCount: 4, keyValueHeadCount: 2,
            vocabularySize: vocabularySize, maxPositionEmbeddings: 64, tieWordEmbeddings: true)
    }

    /// The model without a tokenizer (vocabulary 32), or, `withTokenizer`, with TestSupport's byte-level tokenizer and
    /// a vocabulary to match (GGUF export needs a tokenizer).
    static func loaded(withTokenizer: Bool = false) throws -> LoadedModel {
        var tokenizer: ByteLevelBPETokenizer? = nil
        var c = try configuration()
        if withTokenizer {
            let directory = NSTemporaryDirectory() + "/quanta-fuzz-seeds-model-\(getpid())"
            defer { try? FileManager.default.removeItem(atPath: directory) }
            try TinyModelFiles.writeHuggingFaceFolder(to: directory, configuration: TinyModelFiles.configuration())
            let loaded = try ByteLevelBPETokenizer(
                tokenizerJSON: try Data(contentsOf: URL(fileURLWithPath: directory + "/tokenizer.json")))
            tokenizer = loaded
            c = try configuration(vocabularySize: loaded.vocabularySize)
        }
        let model = try LlamaModel(configuration: c, tensors: TinyLlama.tensors(c, seed: 7))
        return LoadedModel(path: "seed-model", model: model, tokenizer: tokenizer, chatTemplate: nil, summary: "fuzz seed")
    }

    /// Recipes that need no calibration text (the model has no tokenizer): weight-only and dynamic activations,
    /// int8 and int4 (groups of 32 fit the 32 and 64 input features).
    static let presets = ["w8a16", "w8a8-int8-dynamic", "w4a16-g32", "w4a8-g128"]

    static func recipe(_ preset: String) throws -> QuantRecipe {
        var recipe = try QuantRecipe.preset(preset)
        if preset == "w4a8-g128" {
            recipe.overrides = [.init(pattern: "*", weight: try .init(
                dataType: .int4, granularity: .perGroup, groupSize: 32, isSymmetric: true))]
        }
        return recipe
    }
}
