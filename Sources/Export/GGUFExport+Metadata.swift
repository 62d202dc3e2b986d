import Foundation
import Inference
import ModelFormats
import Tokenization

extension GGUFExport {
    /// llama.cpp's `llama_ftype` for a file whose linear weights are mostly `type` (`general.file_type`).
    static func fileType(_ type: GGMLType) -> UInt32 {
        switch type {
        case .f32: 0
        case .f16: 1
        case .q4_0: 2
        case .q4_1: 3
        case .q8_0: 7
        case .q5_0: 8
        case .q5_1: 9
        case .q4_K: 15  // LLAMA_FTYPE_MOSTLY_Q4_K_M: llama.cpp has no "all Q4_K" file type
        case .q5_K: 17  // LLAMA_FTYPE_MOSTLY_Q5_K_M
        case .q6_K: 18
        case .bf16: 32
        default: 1
        }
    }

    /// The metadata llama.cpp reads for a Llama decoder (`llama-arch.cpp` keys, `llm_load_hparams`) and its
    /// `gpt2` byte-level BPE vocabulary (`llama_vocab::load`), in the order convert_hf_to_gguf.py writes them.
    /// - Throws: `ExportError.unsupportedModel` without a tokenizer, or with one llama.cpp's vocabulary cannot hold
    ///   or whose size is not the embedding's.
    static func metadata(
        configuration c: LlamaConfiguration, tokenizer: ByteLevelBPETokenizer?, chatTemplate: String?, name: String,
        mainType: GGMLType, sourcePath: String
    ) throws(ExportError) -> [(String, GGUFValue)] {
        guard let tokenizer else {
            throw .unsupportedModel("the model has no tokenizer; llama.cpp needs tokenizer.ggml.* to run it")
        }
        var vocabulary: GGUFVocabulary
        do {
            vocabulary = try tokenizer.ggufVocabulary()
        } catch {
            throw .unsupportedModel("tokenizer: \(error)")
        }
        let named = folderSpecialTokens(sourcePath, tokenizer: tokenizer)
        vocabulary.bosTokenID = vocabulary.bosTokenID ?? named.bos
        vocabulary.eosTokenID = vocabulary.eosTokenID ?? named.eos
        guard vocabulary.tokens.count == c.vocabularySize else {
            throw .unsupportedModel(
                "the tokenizer has \(vocabulary.tokens.count) tokens but the embedding \(c.vocabularySize) rows")
        }
        let a = "llama"
        var entries: [(String, GGUFValue)] = [
            ("general.architecture", .string(a)),
            ("general.name", .string(name)),
            ("general.file_type", .uint32(fileType(mainType))),
            // GGML_QNT_VERSION: the block layouts written here are those of version 2.
            ("general.quantization_version", .uint32(2)),
            ("\(a).block_count", .uint32(UInt32(c.layerCount))),
            ("\(a).context_length", .uint32(UInt32(c.maxPositionEmbeddings))),
            ("\(a).embedding_length", .uint32(UInt32(c.hiddenSize))),
            ("\(a).feed_forward_length", .uint32(UInt32(c.intermediateSize))),
            ("\(a).attention.head_count", .uint32(UInt32(c.attentionHeadCount))),
            ("\(a).attention.head_count_kv", .uint32(UInt32(c.keyValueHeadCount))),
            ("\(a).rope.freq_base", .float32(c.ropeTheta)),
            ("\(a).attention.layer_norm_rms_epsilon", .float32(c.rmsNormEpsilon)),
            ("\(a).rope.dimension_count", .uint32(UInt32(c.headDimension))),
            ("\(a).vocab_size", .uint32(UInt32(c.vocabularySize))),
        ]
        if c.headDimension * c.attentionHeadCount != c.hiddenSize {
            entries.append(("\(a).attention.key_length", .uint32(UInt32(c.headDimension))))
            entries.append(("\(a).attention.value_length", .uint32(UInt32(c.headDimension))))
        }
        entries += [
            ("tokenizer.ggml.model", .string("gpt2")),
            ("tokenizer.ggml.pre", .string(vocabulary.preTokenizerName)),
            ("tokenizer.ggml.tokens", .array(vocabulary.tokens.map { .string($0) })),
            ("tokenizer.ggml.token_type", .array(vocabulary.tokenTypes.map { .int32($0) })),
            ("tokenizer.ggml.merges", .array(vocabulary.merges.map { .string($0) })),
        ]
        if let bos = vocabulary.bosTokenID { entries.append(("tokenizer.ggml.bos_token_id", .uint32(UInt32(bos)))) }
        if let eos = vocabulary.eosTokenID { entries.append(("tokenizer.ggml.eos_token_id", .uint32(UInt32(eos)))) }
        entries.append(("tokenizer.ggml.add_bos_token", .bool(vocabulary.addsBOS)))
        entries.append(("tokenizer.ggml.add_eos_token", .bool(vocabulary.addsEOS)))
        if let chatTemplate { entries.append(("tokenizer.chat_template", .string(chatTemplate))) }
        return entries
    }

    /// BOS and EOS ids named by a Hugging Face folder's `tokenizer_config.json` (`bos_token`, `eos_token`), which a
    /// tokenizer read from `tokenizer.json` alone does not know; nil for anything else.
    static func folderSpecialTokens(_ path: String, tokenizer: ByteLevelBPETokenizer) -> (bos: Int?, eos: Int?) {
        guard let data = FileManager.default.contents(atPath: path + "/tokenizer_config.json"),
            let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
        else { return (nil, nil) }
        func id(_ key: String) -> Int? {
            // transformers writes either the token text or an AddedToken object with a "content" field.
            let text = object[key] as? String ?? (object[key] as? [String: Any])?["content"] as? String
            return text.flatMap(tokenizer.id(for:))
        }
        return (id("bos_token"), id("eos_token"))
    }
}
