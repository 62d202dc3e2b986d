/// What the rest of Quanta needs from a tokenizer: text to ids and back, the special ids, the vocabulary. Byte-level
/// BPE implements it; another family (WordPiece for encoders) would too, and every caller that only encodes, decodes
/// or looks up special tokens takes `any TextTokenizer`.
public protocol TextTokenizer: Sendable {
    /// Number of ids (the width of a logits row the tokenizer feeds).
    var vocabularySize: Int { get }
    var bosTokenID: Int? { get }
    var eosTokenID: Int? { get }
    /// Ids of `text`, with the tokenizer's BOS/EOS when `addSpecialTokens`.
    func encode(_ text: String, addSpecialTokens: Bool, parseSpecialTokens: Bool) -> [Int]
    /// Text of `ids`.
    /// - Throws: `TokenizerError` for an id outside the vocabulary.
    func decode(_ ids: [Int], skipSpecialTokens: Bool) throws(TokenizerError) -> String
    /// The id of a token's exact string, if the vocabulary has it.
    func id(for token: String) -> Int?
    /// The string of an id, if it is inside the vocabulary.
    func token(for id: Int) -> String?
    /// Whether `id` is a special (control) token.
    func isSpecial(_ id: Int) -> Bool
}

extension TextTokenizer {
    /// Ids of `text` with the tokenizer's special tokens, special-token strings parsed.
    public func encode(_ text: String) -> [Int] { encode(text, addSpecialTokens: true, parseSpecialTokens: true) }
}

extension ByteLevelBPETokenizer: TextTokenizer {}
