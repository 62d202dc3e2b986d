import Foundation
import Tokenization

/// The tokenizer `fuzz-tokenizer-encode` drives: the 256 byte tokens, merges that build common English pieces, and
/// the ChatML control tokens, as a tokenizer.json with SmolLM2's shape (ByteLevel pre-tokenizer and decoder).
enum FixedTokenizer {
    static let shared: ByteLevelBPETokenizer = {
        let alphabet = (0...255).map { ByteLevelAlphabet.spell([UInt8($0)]) }
        let merges = [("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("i", "n"), ("Ġ", "a"), ("e", "r"), ("o", "n"), ("Ġ", "s"),
                      ("r", "e"), ("a", "t"), ("Ġ", "w"), ("o", "u"), ("e", "n"), ("Ġ", "c"), ("i", "s"), ("in", "g")]
        var vocab: [String: Int] = [:]
        for (id, token) in alphabet.enumerated() { vocab[token] = id }
        for (left, right) in merges where vocab[left + right] == nil { vocab[left + right] = vocab.count }
        let special = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
        let added = special.enumerated().map { offset, content -> [String: Any] in
            ["id": vocab.count + offset, "content": content, "single_word": false, "lstrip": false, "rstrip": false,
             "normalized": false, "special": true]
        }
        let json: [String: Any] = [
            "version": "1.0", "truncation": NSNull(), "padding": NSNull(), "added_tokens": added, "normalizer": NSNull(),
            "pre_tokenizer": ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true],
            "post_processor": NSNull(),
            "decoder": ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true],
            "model": ["type": "BPE", "dropout": NSNull(), "unk_token": NSNull(), "continuing_subword_prefix": NSNull(),
                      "end_of_word_suffix": NSNull(), "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
                      "vocab": vocab, "merges": merges.map { "\($0.0) \($0.1)" }],
        ]
        do {
            let data = try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys])
            return try ByteLevelBPETokenizer(tokenizerJSON: data, eosToken: "<|endoftext|>")
        } catch {
            fatalError("fuzz-tokenizer-encode: the fixed tokenizer does not load: \(error)")
        }
    }()
}
