/// A byte-level BPE tokenizer in GGUF's terms: the arrays and values of llama.cpp's `tokenizer.ggml.*` keys for
/// `tokenizer.ggml.model = gpt2` (what `init(tokens:merges:tokenTypes:…:ggufPreTokenizer:)` reads back).
public struct GGUFVocabulary: Sendable, Equatable {
    /// `tokenizer.ggml.tokens`: token strings by id in byte-level spelling.
    public var tokens: [String]
    /// `tokenizer.ggml.merges`: the rules in effect, best first, each `"left right"`.
    public var merges: [String]
    /// `tokenizer.ggml.token_type`: 1 normal, 3 control (special added tokens), 4 user-defined (other added tokens).
    public var tokenTypes: [Int32]
    public var bosTokenID: Int?
    public var eosTokenID: Int?
    /// `tokenizer.ggml.add_bos_token` / `add_eos_token`.
    public var addsBOS: Bool
    public var addsEOS: Bool
    /// `tokenizer.ggml.pre`, llama.cpp's spelling (`smollm`, `gpt-2`, `llama-bpe`).
    public var preTokenizerName: String
}

extension ByteLevelBPETokenizer {
    /// The tokenizer as GGUF metadata arrays, so a model loaded from a Hugging Face folder can be written as a GGUF
    /// that llama.cpp tokenizes the same way. Merges are the rules in effect (a repeated rule once), as in
    /// `tokenizerJSON()`.
    /// - Throws: `TokenizerError.notExportable` for what llama.cpp's `gpt2` vocabulary cannot express: a
    ///   pre-tokenizer with no llama.cpp name, an unknown token, BOS/EOS added around the text other than alone.
    public func ggufVocabulary() throws(TokenizerError) -> GGUFVocabulary {
        let preName: String
        switch preTokenizer {
        case .smolLM: preName = "smollm"
        case .gpt2: preName = "gpt-2"
        case .llama3: preName = "llama-bpe"
        default:
            throw .notExportable(
                component: "tokenizer.ggml.pre", reason: "the pre-tokenizer \(preTokenizer.steps) has no llama.cpp name"
            )
        }
        guard ignoresMerges == (preTokenizer == .llama3) else {
            throw .notExportable(
                component: "tokenizer.ggml.pre",
                reason: "ignore_merges is \(ignoresMerges), llama.cpp ties it to llama-bpe")
        }
        if let unknownTokenID {
            throw .notExportable(
                component: "tokenizer.ggml.tokens", reason: "unknown token \(unknownTokenID): llama.cpp's BPE has none")
        }
        let addsBOS = !prefixTokenIDs.isEmpty, addsEOS = !suffixTokenIDs.isEmpty
        guard prefixTokenIDs == (addsBOS ? bosTokenID.map { [$0] } ?? [] : []),
            suffixTokenIDs == (addsEOS ? eosTokenID.map { [$0] } ?? [] : [])
        else {
            throw .notExportable(
                component: "tokenizer.ggml.add_bos_token",
                reason: "ids \(prefixTokenIDs) / \(suffixTokenIDs) around the text are not BOS / EOS alone")
        }
        var types = [Int32](repeating: 1, count: tokens.count)
        for token in addedTokens { types[token.id] = token.isSpecial ? 3 : 4 }
        let merges = model.merges.rulesByRank().map { "\(tokens[Int($0.left)]) \(tokens[Int($0.right)])" }
        return GGUFVocabulary(
            tokens: tokens, merges: merges, tokenTypes: types, bosTokenID: bosTokenID, eosTokenID: eosTokenID,
            addsBOS: addsBOS, addsEOS: addsEOS, preTokenizerName: preName)
    }
}
