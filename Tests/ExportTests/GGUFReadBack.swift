import Inference
import ModelFormats
import TensorCore

/// Reads an exported GGUF back into Hugging Face terms with ModelFormats alone (names through the table, q/k rows
/// un-permuted), so tests compare the file with the model it came from.
enum GGUFReadBack {
    static func tensors(_ file: GGUFFile, configuration c: LlamaConfiguration) throws -> [String: Tensor] {
        var result: [String: Tensor] = [:]
        for info in file.tensors {
            let name = try require(GGUFTensorNames.canonicalName(forLlama: info.name))
            var tensor = try file.tensor(info.name)
            if name.contains("q_proj") {
                tensor = RotaryPermutation.ggufToHuggingFace(tensor, headCount: c.attentionHeadCount)
            }
            if name.contains("k_proj") {
                tensor = RotaryPermutation.ggufToHuggingFace(tensor, headCount: c.keyValueHeadCount)
            }
            result[name] = tensor
        }
        return result
    }

    static func model(_ path: String, configuration: LlamaConfiguration) throws -> LlamaModel {
        try LlamaModel(
            configuration: configuration, tensors: tensors(try GGUFFile(path: path), configuration: configuration))
    }

    /// All logits of `tokens` from a fresh cache.
    static func logits(_ model: LlamaModel, _ tokens: [Int]) throws -> [Float] {
        var cache = model.makeCache(capacity: tokens.count)
        return try model.forward(tokens: tokens, cache: &cache).scalars
    }
}

/// `try #require` needs the Testing module; a local stand-in keeps this helper free of it.
private func require<T>(_ value: T?) throws -> T {
    guard let value else { throw ReadBackError.unnamedTensor }
    return value
}

private enum ReadBackError: Error { case unnamedTensor }
