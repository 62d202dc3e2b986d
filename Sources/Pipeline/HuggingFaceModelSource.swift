import Foundation
import Inference
import ModelFormats
import TensorCore
import Tokenization

/// A Hugging Face model folder: `config.json`, `model.safetensors` (or shards with an index), `tokenizer.json`.
enum HuggingFaceModelSource {
    static func load(directory: String) throws -> LoadedModel {
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
            throw ModelError.invalidConfiguration("\(configPath): \(Self.describe(error))")
        }
        let tensors: [String: Tensor]
        var saved: QuantizedModelFolder.Contents?
        var summary: String
        if QuantizedModelFolder.isQuantizedFolder(directory) {
            saved = try QuantizedModelFolder.load(directory: directory)
            tensors = saved!.tensors
            summary = "Quanta quantized folder (recipe \(saved!.recipe.name))"
        } else {
            let weights = try ShardedSafetensors(directory: directory)
            tensors = try weights.tensors()
            summary = "Hugging Face folder, \(weights.shardFileNames.count) safetensors file(s)"
        }
        var model = try LlamaModel(configuration: configuration, tensors: tensors)
        if let saved {
            let descriptionPath = directory + "/" + QuantizedModelFolder.descriptionFileName
            try InputTransformDescription.install(saved.inputTransforms, into: &model, path: descriptionPath)
            try saved.install(into: &model)
        }
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
        return LoadedModel(path: directory, model: model, tokenizer: tokenizer, chatTemplate: chatTemplate, summary: summary)
    }

    /// A decoding error as one readable line (missing key, wrong type), not Foundation's nested dump.
    static func describe(_ error: any Error) -> String {
        guard let decoding = error as? DecodingError else { return "\(error)" }
        switch decoding {
        case let .keyNotFound(key, _): return "missing key '\(key.stringValue)'"
        case let .typeMismatch(type, context): return "'\(context.codingPath.map(\.stringValue).joined(separator: "."))' is not \(type)"
        case let .valueNotFound(type, context): return "'\(context.codingPath.map(\.stringValue).joined(separator: "."))' is null, expected \(type)"
        case let .dataCorrupted(context): return "not valid JSON (\(context.debugDescription))"
        @unknown default: return "\(error)"
        }
    }
}
