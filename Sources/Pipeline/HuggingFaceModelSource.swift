import Foundation
import Inference
import ModelFormats
import Quantization
import TensorCore
import Tokenization

/// A Hugging Face model folder: `config.json`, `model.safetensors` (or shards with an index), `tokenizer.json`.
enum HuggingFaceModelSource {
    static func load(directory: String, options: ModelLoader.Options = .float) throws -> LoadedModel {
        let configPath = directory + "/config.json"
        guard let configData = FileManager.default.contents(atPath: configPath) else {
            throw PipelineError.unrecognizedModel(path: directory, reason: "a folder without config.json")
        }
        let configuration: LlamaConfiguration
        do {
            configuration = try JSONDecoder().decode(LlamaConfiguration.self, from: configData)
        } catch let error as ModelError {
            throw error
        } catch {
            throw ModelError.invalidConfiguration("\(configPath): \(QuantizationError.describe(error))")
        }
        let tensors: [String: Tensor]
        var saved: QuantizedModelFolder.Contents?
        var compressed: CompressedTensorsFolder.Contents?
        var summary: String
        if let quantization = try CompressedTensorsFolder.configuration(configJSON: configData, path: configPath) {
            compressed = try CompressedTensorsFolder.load(
                directory: directory, configuration: configuration, quantization: quantization)
            tensors = compressed!.tensors
            summary = "compressed-tensors folder (\(quantization.format), \(quantization.configGroups.count) group(s))"
        } else if QuantizedModelFolder.isQuantizedFolder(directory) {
            saved = try QuantizedModelFolder.load(directory: directory, packing: options.packsWeights)
            tensors = saved!.tensors
            summary = "Quanta quantized folder (recipe \(saved!.recipe.name))"
        } else {
            let weights = try ShardedSafetensors(directory: directory)
            tensors = try weights.tensors()
            summary = "Hugging Face folder, \(weights.shardFileNames.count) safetensors file(s)"
        }
        var model: LlamaModel
        do {
            model = try LlamaModel(configuration: configuration, tensors: tensors, packed: saved?.packed ?? [:])
        } catch {
            // A saved folder's layer that config.json's model lacks, or has in another shape: name the layer and field.
            if let described = saved?.describedLayerError(for: error) { throw described }
            throw error
        }
        try saved?.install(into: &model)
        try compressed?.install(into: &model)
        var tokenizer: ByteLevelBPETokenizer? = nil
        var chatTemplate: String? = nil
        if let data = FileManager.default.contents(atPath: directory + "/tokenizer.json") {
            tokenizer = try ByteLevelBPETokenizer(tokenizerJSON: data)
        }
        let tokenizerConfigPath = directory + "/tokenizer_config.json"
        if let data = FileManager.default.contents(atPath: tokenizerConfigPath) {
            // A broken tokenizer_config.json would silently drop the chat template; say so instead.
            guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
                throw PipelineError.unrecognizedModel(path: tokenizerConfigPath, reason: "not a JSON object")
            }
            if let template = object["chat_template"] {
                guard let text = template as? String else {
                    throw PipelineError.unrecognizedModel(path: tokenizerConfigPath, reason: "'chat_template' is not a string")
                }
                chatTemplate = text
            }
        }
        return LoadedModel(
            path: directory, model: model, tokenizer: tokenizer, chatTemplate: chatTemplate, summary: summary,
            quantizedSource: saved.map { "a Quanta folder quantized with recipe \($0.recipe.name)" }
                ?? compressed.map { "a compressed-tensors \($0.format) checkpoint" })
    }
}
