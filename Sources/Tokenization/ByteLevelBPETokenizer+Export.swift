import Foundation
import JSONCore

extension ByteLevelBPETokenizer {
    /// The tokenizer as a Hugging Face `tokenizer.json` (tokenizers 0.20+ layout: BPE merges as `["a", "b"]` pairs),
    /// so that a model read from GGUF can be written as a Hugging Face folder with its tokenizer.
    ///
    /// The document encodes every text to the same ids as `self`, with Hugging Face tokenizers and with
    /// `init(tokenizerJSON:bosToken:eosToken:)` (pass `bosToken` and `eosToken` to get `bosTokenID` and `eosTokenID`
    /// back), and decodes ids to the same text. What carries over from a GGUF tokenizer:
    /// - `model.vocab`: every token by id, added tokens included (Hugging Face gives an added token the vocab id of
    ///   its content). `model.merges`: only the rules in effect, in rank order. llama.cpp keeps the first of a
    ///   repeated rule and Hugging Face the last, so writing each rule once keeps the ids of both readers.
    /// - `added_tokens`: `addedTokens` by id with their flags (GGUF control and unknown tokens are `"special": true`,
    ///   user-defined ones `false`; all of them `normalized: false` without strips, matched in one pass as llama.cpp
    ///   matches them).
    /// - `pre_tokenizer`: `Digits` and `Split` steps in a `Sequence`, ending in one `ByteLevel` that absorbs a final
    ///   prefix-space step and GPT-2 regex. `smollm` gives `Sequence[Digits(individual_digits), ByteLevel]` as in
    ///   SmolLM2's own file, `gpt2` a lone `ByteLevel`, `llama-bpe` `Sequence[Split(Llama 3 regex),
    ///   ByteLevel(use_regex: false)]` with `model.ignore_merges`.
    /// - `post_processor`: `TemplateProcessing` putting `prefixTokenIDs` before and `suffixTokenIDs` after each
    ///   sequence (BOS with GGUF `add_bos_token`), or null when both are empty. `decoder`: `ByteLevel`.
    ///
    /// Keys are sorted except in `model.vocab` (by id); the same tokenizer always gives the same bytes.
    /// - Returns: the UTF-8 JSON document.
    /// - Throws: `TokenizerError.notExportable` when the format cannot hold the tokenizer exactly: one token string
    ///   at two ids (a `vocab` maps each string to one id), an added token whose text is not its vocabulary
    ///   spelling, or a prefix-space step that is not part of the final `ByteLevel`.
    public func tokenizerJSON() throws(TokenizerError) -> Data {
        var vocabulary: [JSONValue.Member] = []
        vocabulary.reserveCapacity(tokens.count)
        for (id, token) in tokens.enumerated() {
            // `model.vocabulary` keeps a repeated string's last id, so any other id of it is unreachable by name.
            if let other = model.vocabulary[token], other != id {
                throw .notExportable(
                    component: "model.vocab",
                    reason: "token '\(token)' has ids \(id) and \(other); a vocab maps each string to one id")
            }
            vocabulary.append(JSONValue.Member(key: token, value: .integer(id)))
        }
        let merges = model.merges.rulesByRank().map { rule in
            JSONValue.array([.string(tokens[Int(rule.left)]), .string(tokens[Int(rule.right)])])
        }
        let unknownToken: JSONValue = unknownTokenID.map { .string(tokens[$0]) } ?? .null
        let bpe = JSONValue.sortedObject([
            "type": .string("BPE"), "dropout": .null, "unk_token": unknownToken, "continuing_subword_prefix": .null,
            "end_of_word_suffix": .null, "fuse_unk": .bool(fusesUnknownTokens), "byte_fallback": .bool(false),
            "ignore_merges": .bool(ignoresMerges), "vocab": .object(vocabulary), "merges": .array(merges),
        ])
        let document = JSONValue.sortedObject([
            "version": .string("1.0"), "truncation": .null, "padding": .null,
            "added_tokens": .array(try addedTokensJSON()), "normalizer": .null,
            "pre_tokenizer": try Self.preTokenizerJSON(preTokenizer), "post_processor": postProcessorJSON(),
            "decoder": Self.byteLevelJSON(addsPrefixSpace: true, usesRegex: true), "model": bpe,
        ])
        return Data(document.prettyPrinted())
    }

    private func addedTokensJSON() throws(TokenizerError) -> [JSONValue] {
        var entries: [JSONValue] = []
        for token in addedTokens {
            // Hugging Face looks an added token's id up by its content, so content and vocab spelling must agree.
            guard tokens[token.id] == token.content else {
                throw .notExportable(
                    component: "added_tokens",
                    reason: "token \(token.id) is matched as '\(token.content)' but spelled '\(tokens[token.id])' "
                        + "in the vocabulary")
            }
            entries.append(
                .sortedObject([
                    "id": .integer(token.id), "content": .string(token.content), "single_word": .bool(false),
                    "lstrip": .bool(token.stripsLeft), "rstrip": .bool(token.stripsRight),
                    "normalized": .bool(token.isNormalized), "special": .bool(token.isSpecial),
                ]))
        }
        return entries
    }

    /// `ByteLevel` as Hugging Face writes it; `trim_offsets` only changes offsets, never ids.
    private static func byteLevelJSON(addsPrefixSpace: Bool, usesRegex: Bool) -> JSONValue {
        .sortedObject([
            "type": .string("ByteLevel"), "add_prefix_space": .bool(addsPrefixSpace), "trim_offsets": .bool(true),
            "use_regex": .bool(usesRegex),
        ])
    }

    /// The inverse of `init(tokenizerJSON:)`'s reading: `ByteLevel(add_prefix_space, use_regex)` stands for the steps
    /// `[addPrefixSpace]? [split(.gpt2)]?` and must come last, once.
    static func preTokenizerJSON(_ preTokenizer: PreTokenizer) throws(TokenizerError) -> JSONValue {
        var steps = preTokenizer.steps[...]
        let usesRegex = steps.last == .split(.gpt2)
        if usesRegex { steps.removeLast() }
        let addsPrefixSpace = steps.last == .addPrefixSpace
        if addsPrefixSpace { steps.removeLast() }
        var items: [JSONValue] = []
        for (index, step) in steps.enumerated() {
            switch step {
            case .digits(let individualDigits):
                items.append(.sortedObject(["type": .string("Digits"), "individual_digits": .bool(individualDigits)]))
            case .split(let pattern):
                items.append(
                    .sortedObject([
                        "type": .string("Split"), "pattern": .sortedObject(["Regex": .string(pattern.regex)]),
                        "behavior": .string("Isolated"), "invert": .bool(false),
                    ]))
            case .addPrefixSpace:
                throw .notExportable(
                    component: "pre_tokenizer",
                    reason: "step \(index + 1) of \(preTokenizer.steps.count) adds a prefix space before other steps; "
                        + "only the final ByteLevel step can")
            }
        }
        let byteLevel = byteLevelJSON(addsPrefixSpace: addsPrefixSpace, usesRegex: usesRegex)
        guard !items.isEmpty else { return byteLevel }
        return .sortedObject(["type": .string("Sequence"), "pretokenizers": .array(items + [byteLevel])])
    }

    /// `TemplateProcessing` with `prefixTokenIDs` and `suffixTokenIDs` around `$A` (and, for pairs, around `$B:1`
    /// again, as transformers' Llama tokenizer builds it); null when there are none.
    private func postProcessorJSON() -> JSONValue {
        guard !prefixTokenIDs.isEmpty || !suffixTokenIDs.isEmpty else { return .null }
        func special(_ id: Int, typeID: Int) -> JSONValue {
            .sortedObject(["SpecialToken": .sortedObject(["id": .string(tokens[id]), "type_id": .integer(typeID)])])
        }
        func sequence(_ name: String, typeID: Int) -> JSONValue {
            .sortedObject(["Sequence": .sortedObject(["id": .string(name), "type_id": .integer(typeID)])])
        }
        func template(_ name: String, typeID: Int) -> [JSONValue] {
            prefixTokenIDs.map { special($0, typeID: typeID) } + [sequence(name, typeID: typeID)]
                + suffixTokenIDs.map { special($0, typeID: typeID) }
        }
        var specialTokens: [String: JSONValue] = [:]
        for id in prefixTokenIDs + suffixTokenIDs {
            specialTokens[tokens[id]] = .sortedObject([
                "id": .string(tokens[id]), "ids": .array([.integer(id)]), "tokens": .array([.string(tokens[id])]),
            ])
        }
        return .sortedObject([
            "type": .string("TemplateProcessing"), "single": .array(template("A", typeID: 0)),
            "pair": .array(template("A", typeID: 0) + template("B", typeID: 1)),
            "special_tokens": .sortedObject(specialTokens),
        ])
    }
}
