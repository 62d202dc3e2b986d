import Foundation
import Tokenization

/// Builds small `tokenizer.json` documents in the layout tokenizers 0.20+ writes, for tests to modify and load.
struct TokenizerJSONBuilder {
    var root: [String: Any]

    /// A byte-level BPE document over `Fixtures.tinyTokens(merges:)` plus `added` tokens appended after it.
    init(merges: [String], added: [(content: String, special: Bool)] = [], mergesAsPairs: Bool = false) {
        let tokens = Fixtures.tinyTokens(merges: merges)
        var vocab: [String: Any] = [:]
        for (id, token) in tokens.enumerated() { vocab[token] = id }
        let addedTokens: [[String: Any]] = added.enumerated().map { offset, token in
            vocab[token.content] = tokens.count + offset
            return [
                "id": tokens.count + offset, "content": token.content, "single_word": false, "lstrip": false,
                "rstrip": false, "normalized": false, "special": token.special,
            ]
        }
        let mergeList: [Any] =
            mergesAsPairs ? merges.map { $0.split(separator: " ").map(String.init) } : merges
        root = [
            "version": "1.0", "truncation": NSNull(), "padding": NSNull(), "added_tokens": addedTokens,
            "normalizer": NSNull(),
            "pre_tokenizer": ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true],
            "post_processor": [
                "type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true,
            ],
            "decoder": ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true],
            "model": [
                "type": "BPE", "dropout": NSNull(), "unk_token": NSNull(), "continuing_subword_prefix": NSNull(),
                "end_of_word_suffix": NSNull(), "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
                "vocab": vocab, "merges": mergeList,
            ] as [String: Any],
        ]
    }

    /// Sets `value` at a dotted key path such as `model.unk_token`.
    mutating func set(_ path: String, _ value: Any) {
        let keys = path.split(separator: ".").map(String.init)
        root = Self.setting(root, keys: keys[...], value: value)
    }

    private static func setting(_ object: [String: Any], keys: ArraySlice<String>, value: Any) -> [String: Any] {
        var object = object
        let key = keys.first!
        if keys.count == 1 {
            object[key] = value
        } else {
            object[key] = setting(object[key] as? [String: Any] ?? [:], keys: keys.dropFirst(), value: value)
        }
        return object
    }

    var data: Data {
        // Sorted keys keep the bytes stable from run to run.
        try! JSONSerialization.data(withJSONObject: root, options: [.sortedKeys])
    }

    func build() throws(TokenizerError) -> ByteLevelBPETokenizer {
        try ByteLevelBPETokenizer(tokenizerJSON: data)
    }
}
