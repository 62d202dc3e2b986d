/// A token matched whole in the input text before pre-tokenization (`<|im_start|>`, `<|endoftext|>`), as Hugging
/// Face's `added_tokens` and llama.cpp's control and user-defined tokens are.
public struct AddedToken: Sendable, Equatable, Hashable {
    /// The token's id in the vocabulary.
    public var id: Int
    /// The exact text matched in the input (not byte-level spelled).
    public var content: String
    /// Special tokens (GGUF type 3 "control"; `"special": true`) are dropped by `decode(_:skipSpecialTokens: true)`
    /// and left unmatched by `encode(_:parseSpecialTokens: false)`.
    public var isSpecial: Bool
    /// Whitespace on the left of a match is absorbed into the token (Hugging Face `lstrip`).
    public var stripsLeft: Bool
    /// Whitespace on the right of a match is absorbed into the token (Hugging Face `rstrip`).
    public var stripsRight: Bool
    /// Hugging Face `normalized`: matched in a second pass, after the tokens with `normalized == false`.
    public var isNormalized: Bool

    /// An added token with the given fields.
    public init(
        id: Int, content: String, isSpecial: Bool, stripsLeft: Bool = false, stripsRight: Bool = false,
        isNormalized: Bool = false
    ) {
        self.id = id
        self.content = content
        self.isSpecial = isSpecial
        self.stripsLeft = stripsLeft
        self.stripsRight = stripsRight
        self.isNormalized = isNormalized
    }
}
