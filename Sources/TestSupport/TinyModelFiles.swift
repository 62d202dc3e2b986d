import Foundation
import Inference
import ModelFormats
import TensorCore
import Tokenization

/// Writes tiny synthetic models to disk in each format Quanta loads, for loader and CLI tests.
public enum TinyModelFiles {
    /// A byte-level vocabulary: the 256 single-byte tokens, a few merges, and `<|endoftext|>`.
    public struct Vocabulary: Sendable {
        public let tokens: [String]
        public let merges: [String]
        public let tokenTypes: [Int32]
    }

    public static func vocabulary() -> Vocabulary {
        var tokens = (0...255).map { ByteLevelAlphabet.spell([UInt8($0)]) }
        let merges = ["Ġ t", "h e", "Ġt he", "i n"]
        tokens += ["Ġt", "he", "Ġthe", "in"]
        tokens.append("<|endoftext|>")
        var types = [Int32](repeating: 1, count: tokens.count)
        types[types.count - 1] = 3
        return Vocabulary(tokens: tokens, merges: merges, tokenTypes: types)
    }

    /// The tiny configuration sized for `vocabulary()`.
    public static func configuration(tied: Bool = false) -> LlamaConfiguration {
        try! LlamaConfiguration(
            hiddenSize: 32, intermediateSize: 48, layerCount: 2, attentionHeadCount: 4, keyValueHeadCount: 2,
            vocabularySize: vocabulary().tokens.count, rmsNormEpsilon: 1e-5, ropeTheta: 10_000,
            maxPositionEmbeddings: 256, tieWordEmbeddings: tied)
    }

    /// A fresh temporary folder holding the default tiny model as `m.gguf` and a calibration text `t.txt` that its
    /// vocabulary covers: the fixture of the command-line and quantize-save-load tests.
    public static func modelAndCalibrationText() throws -> (model: String, text: String, directory: String) {
        let directory = Fixtures.temporaryDirectory()
        let model = directory + "/m.gguf"
        try writeGGUF(to: model, configuration: configuration())
        let text = directory + "/t.txt"
        try String(repeating: "the theme in the text, then the other thing. ", count: 30).write(
            toFile: text, atomically: true, encoding: .utf8)
        return (model, text, directory)
    }

    /// Writes a llama GGUF (q/k rows permuted as llama.cpp's converter does) and returns its tensors in HF layout.
    /// - Parameters: `architecture` to write (set another to test rejection); `tokenizer` false leaves it out.
    @discardableResult
    public static func writeGGUF(
        to path: String, configuration c: LlamaConfiguration, seed: UInt64 = 1, architecture: String = "llama",
        tokenizer: Bool = true
    ) throws -> [String: Tensor] {
        let tensors = TinyLlama.tensors(c, seed: seed)
        var writer = GGUFWriter()
        let a = architecture
        writer.set("general.architecture", .string(a))
        writer.set("\(a).block_count", .uint32(UInt32(c.layerCount)))
        writer.set("\(a).context_length", .uint32(UInt32(c.maxPositionEmbeddings)))
        writer.set("\(a).embedding_length", .uint32(UInt32(c.hiddenSize)))
        writer.set("\(a).feed_forward_length", .uint32(UInt32(c.intermediateSize)))
        writer.set("\(a).attention.head_count", .uint32(UInt32(c.attentionHeadCount)))
        writer.set("\(a).attention.head_count_kv", .uint32(UInt32(c.keyValueHeadCount)))
        writer.set("\(a).rope.freq_base", .float32(c.ropeTheta))
        writer.set("\(a).attention.layer_norm_rms_epsilon", .float32(c.rmsNormEpsilon))
        writer.set("\(a).rope.dimension_count", .uint32(UInt32(c.headDimension)))
        if tokenizer {
            let v = vocabulary()
            writer.set("tokenizer.ggml.model", .string("gpt2"))
            writer.set("tokenizer.ggml.pre", .string("gpt2"))
            writer.set("tokenizer.ggml.tokens", .array(v.tokens.map { .string($0) }))
            writer.set("tokenizer.ggml.merges", .array(v.merges.map { .string($0) }))
            writer.set("tokenizer.ggml.token_type", .array(v.tokenTypes.map { .int32($0) }))
            writer.set("tokenizer.ggml.eos_token_id", .uint32(UInt32(v.tokens.count - 1)))
            writer.set("tokenizer.ggml.add_bos_token", .bool(false))
        }
        for name in tensors.keys.sorted() {
            guard let ggufName = GGUFTensorNames.ggufName(forLlama: name) else { continue }
            var tensor = tensors[name]!
            if name.hasSuffix("q_proj.weight") {
                tensor = RotaryPermutation.huggingFaceToGGUF(tensor, headCount: c.attentionHeadCount)
            } else if name.hasSuffix("k_proj.weight") {
                tensor = RotaryPermutation.huggingFaceToGGUF(tensor, headCount: c.keyValueHeadCount)
            }
            try writer.addTensor(name: ggufName, shape: tensor.shape, float32: tensor.scalars)
        }
        try writer.write(to: path)
        return tensors
    }

    /// Writes a Hugging Face folder (config.json, model.safetensors, tokenizer.json unless `tokenizer` is false).
    public static func writeHuggingFaceFolder(
        to directory: String, configuration c: LlamaConfiguration, seed: UInt64 = 1, modelType: String = "llama",
        tokenizer: Bool = true
    ) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var config = try JSONSerialization.jsonObject(with: JSONEncoder().encode(c)) as! [String: Any]
        config["model_type"] = modelType
        try JSONSerialization.data(withJSONObject: config, options: [.sortedKeys])
            .write(to: URL(fileURLWithPath: directory + "/config.json"))
        var writer = SafetensorsWriter()
        for (name, tensor) in TinyLlama.tensors(c, seed: seed) { writer.add(name, tensor) }
        try writer.write(to: directory + "/model.safetensors")
        if tokenizer {
            let v = vocabulary()
            var vocab: [String: Int] = [:]
            for (id, token) in v.tokens.enumerated() { vocab[token] = id }
            let json: [String: Any] = [
                "version": "1.0",
                "added_tokens": [["id": v.tokens.count - 1, "content": "<|endoftext|>", "single_word": false, "lstrip": false,
                                  "rstrip": false, "normalized": false, "special": true]],
                "normalizer": NSNull(),
                "pre_tokenizer": ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true],
                "post_processor": NSNull(),
                "decoder": ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true],
                "model": ["type": "BPE", "dropout": NSNull(), "unk_token": NSNull(), "continuing_subword_prefix": NSNull(),
                          "end_of_word_suffix": NSNull(), "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
                          "vocab": vocab, "merges": v.merges],
            ]
            try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys])
                .write(to: URL(fileURLWithPath: directory + "/tokenizer.json"))
        }
    }
}
