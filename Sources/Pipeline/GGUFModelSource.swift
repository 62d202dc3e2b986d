import Inference
import ModelFormats
import TensorCore

/// Reads a Llama-family GGUF (llama.cpp's layout) into Hugging Face terms: configuration from `llama.*` metadata,
/// tensors renamed through `GGUFTensorNames`, dequantized to float32, and q/k rows restored to rotate-half order.
enum GGUFModelSource {
    /// Configuration from metadata (llama.cpp `llm_load_hparams` keys).
    static func configuration(_ file: GGUFFile) throws -> LlamaConfiguration {
        let architecture = try file.string("general.architecture")
        guard architecture == "llama" else { throw ModelError.unsupportedArchitecture(architecture) }
        let a = architecture
        let hidden = try file.integer("\(a).embedding_length")
        let heads = try file.integer("\(a).attention.head_count")
        let headDimension = heads > 0 ? hidden / heads : 0
        if let rotary = file.metadata["\(a).rope.dimension_count"]?.intValue, rotary != headDimension {
            throw ModelError.invalidConfiguration("\(a).rope.dimension_count \(rotary) differs from head dim \(headDimension): partial rotary is not supported")
        }
        if let scaling = file.metadata["\(a).rope.scaling.type"]?.stringValue, scaling != "none" {
            throw ModelError.invalidConfiguration("RoPE scaling '\(scaling)' is not supported")
        }
        let vocabulary: Int
        if let explicit = file.metadata["\(a).vocab_size"]?.intValue {
            vocabulary = explicit
        } else if let tokens = file.metadata["tokenizer.ggml.tokens"]?.arrayValue {
            vocabulary = tokens.count
        } else {
            vocabulary = try file.info("token_embd.weight").shape[0]
        }
        let tied = (try? file.info("output.weight")) == nil
        return try LlamaConfiguration(
            hiddenSize: hidden,
            intermediateSize: try file.integer("\(a).feed_forward_length"),
            layerCount: try file.integer("\(a).block_count"),
            attentionHeadCount: heads,
            keyValueHeadCount: file.metadata["\(a).attention.head_count_kv"]?.intValue ?? heads,
            vocabularySize: vocabulary,
            rmsNormEpsilon: Float(try file.float("\(a).attention.layer_norm_rms_epsilon")),
            ropeTheta: Float(file.metadata["\(a).rope.freq_base"]?.doubleValue ?? 10_000),
            maxPositionEmbeddings: try file.integer("\(a).context_length"),
            tieWordEmbeddings: tied)
    }

    /// All tensors under canonical names, float32, Hugging Face row order.
    static func tensors(_ file: GGUFFile, configuration c: LlamaConfiguration) throws -> [String: Tensor] {
        try tensors(file, configuration: c, packing: false).float
    }

    /// All tensors under canonical names, Hugging Face row order: with `packing`, 2-D Q8_0, Q4_0 and Q4_1 tensors
    /// (linear weights, the embedding table) as packed codes (`GGUFPackedWeight`) and never dequantized; everything
    /// else (and everything without `packing`) as float32.
    static func tensors(
        _ file: GGUFFile, configuration c: LlamaConfiguration, packing: Bool
    ) throws -> (float: [String: Tensor], packed: [String: PackedWeight]) {
        var result: [String: Tensor] = [:]
        var packed: [String: PackedWeight] = [:]
        for info in file.tensors {
            guard let name = GGUFTensorNames.canonicalName(forLlama: info.name) else {
                throw ModelError.unexpectedWeight("\(info.name) (no Hugging Face name for this GGUF tensor)")
            }
            if packing, GGUFPackedWeight.isPackable(info.type), info.shape.count == 2, info.shape[1] % 32 == 0 {
                var rowOrder: [Int]? = nil
                if name.hasSuffix("self_attn.q_proj.weight") {
                    rowOrder = RotaryPermutation.huggingFaceRowsInGGUFOrder(rowCount: info.shape[0], headCount: c.attentionHeadCount)
                } else if name.hasSuffix("self_attn.k_proj.weight") {
                    rowOrder = RotaryPermutation.huggingFaceRowsInGGUFOrder(rowCount: info.shape[0], headCount: c.keyValueHeadCount)
                }
                packed[name] = try GGUFPackedWeight.pack(file, info, rowOrder: rowOrder)
                continue
            }
            var tensor = try file.tensor(info.name)
            if name.hasSuffix("self_attn.q_proj.weight") || name.hasSuffix("self_attn.q_proj.bias") {
                tensor = RotaryPermutation.ggufToHuggingFace(tensor, headCount: c.attentionHeadCount)
            } else if name.hasSuffix("self_attn.k_proj.weight") || name.hasSuffix("self_attn.k_proj.bias") {
                tensor = RotaryPermutation.ggufToHuggingFace(tensor, headCount: c.keyValueHeadCount)
            }
            result[name] = tensor
        }
        return (result, packed)
    }
}
