import Foundation
import Inference
import ModelFormats
import Quantization
import Tokenization

/// Loads a model from a GGUF file or a Hugging Face folder (config.json, safetensors, tokenizer.json) into the same
/// in-memory form with Hugging Face names.
public enum ModelLoader {
    /// How a model is loaded.
    public struct Options: Sendable, Equatable {
        /// Quantized linear weights (a Quanta folder's codes, GGUF Q8_0/Q4_0/Q4_1 tensors, a quantized GGUF embedding
        /// table) load straight into packed layers that compute from their codes, with no float copy. Runners
        /// (eval, generate, bench) want this; quantization, the debugger and exporters need float weights.
        public var packsWeights: Bool

        public init(packsWeights: Bool = false) {
            self.packsWeights = packsWeights
        }

        /// Float weights everywhere (dequantized on load).
        public static let float = Options()
        /// Packed weights where the format allows.
        public static let packed = Options(packsWeights: true)
    }

    /// Loads `path`, deciding the format from what is there.
    /// - Throws: `PipelineError.unrecognizedModel` when it is neither; format, model and tokenizer errors as they come.
    public static func load(_ path: String, options: Options = .float) throws -> LoadedModel {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw PipelineError.unrecognizedModel(path: path, reason: "no such file or directory")
        }
        try ModelPathCheck.rejectFileInsideModelFolder(path)
        if isDirectory.boolValue { return try HuggingFaceModelSource.load(directory: path, options: options) }
        return try loadGGUF(path, options: options)
    }

    static func loadGGUF(_ path: String, options: Options = .float) throws -> LoadedModel {
        let file = try GGUFFile(path: path)
        let configuration = try GGUFModelSource.configuration(file)
        let (tensors, packed) = try GGUFModelSource.tensors(file, configuration: configuration, packing: options.packsWeights)
        let model = try LlamaModel(configuration: configuration, tensors: tensors, packed: packed)
        let tokenizer = try ggufTokenizer(file)
        let types = Dictionary(grouping: file.tensors, by: \.type).map { "\($0.value.count)×\($0.key.name)" }.sorted()
        let quantizedTypes = Set(file.tensors.map(\.type)).subtracting([.f32, .f16, .bf16]).map(\.name).sorted()
        return LoadedModel(
            path: path, model: model, tokenizer: tokenizer,
            chatTemplate: file.metadata["tokenizer.chat_template"]?.stringValue,
            summary: "GGUF v\(file.version), \(file.tensors.count) tensors (\(types.joined(separator: ", ")))",
            quantizedSource: quantizedTypes.isEmpty ? nil : "GGUF \(quantizedTypes.joined(separator: ", ")) tensors")
    }

    /// The byte-level BPE tokenizer in `tokenizer.ggml.*` metadata, nil when the file has none.
    static func ggufTokenizer(_ file: GGUFFile) throws -> ByteLevelBPETokenizer? {
        guard let kind = file.metadata["tokenizer.ggml.model"]?.stringValue else { return nil }
        guard kind == "gpt2" else {
            throw PipelineError.unrecognizedModel(
                path: file.path, reason: "tokenizer.ggml.model '\(kind)' is not supported (Quanta reads 'gpt2' byte-level BPE)")
        }
        let types = file.metadata["tokenizer.ggml.token_type"] == nil ? [] : try file.integers("tokenizer.ggml.token_type").map { Int32(clamping: $0) }
        return try ByteLevelBPETokenizer(
            tokens: try file.strings("tokenizer.ggml.tokens"),
            merges: try file.strings("tokenizer.ggml.merges"),
            tokenTypes: types,
            bosTokenID: file.metadata["tokenizer.ggml.bos_token_id"]?.intValue,
            eosTokenID: file.metadata["tokenizer.ggml.eos_token_id"]?.intValue,
            addBOS: file.metadata["tokenizer.ggml.add_bos_token"]?.boolValue ?? false,
            addEOS: file.metadata["tokenizer.ggml.add_eos_token"]?.boolValue ?? false,
            ggufPreTokenizer: file.metadata["tokenizer.ggml.pre"]?.stringValue ?? "default")
    }
}
