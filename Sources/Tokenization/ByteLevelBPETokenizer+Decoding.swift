extension ByteLevelBPETokenizer {
    /// The bytes token `id` stands for: its byte-level spelling mapped back through `ByteLevelAlphabet` (Hugging Face's
    /// `ByteLevel` decoder), or an added token's text. A token may hold part of a UTF-8 sequence.
    /// - Throws: `TokenizerError.tokenIDOutOfRange` when `id` is not in `0..<vocabularySize`.
    public func decodeBytes(_ id: Int) throws(TokenizerError) -> ArraySlice<UInt8> {
        guard id >= 0 && id < tokens.count else {
            throw .tokenIDOutOfRange(role: "decoded", id: id, vocabularySize: tokens.count)
        }
        return tokenBytes[tokenByteOffsets[id]..<tokenByteOffsets[id + 1]]
    }

    /// The concatenated bytes of `ids`, without special tokens when `skipSpecialTokens`.
    /// - Throws: `TokenizerError.tokenIDOutOfRange` for an id outside the vocabulary.
    public func decodeBytes(_ ids: [Int], skipSpecialTokens: Bool = false) throws(TokenizerError) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(ids.count * 4)
        for id in ids {
            let piece = try decodeBytes(id)
            if skipSpecialTokens && specialFlags[id] { continue }
            bytes.append(contentsOf: piece)
        }
        return bytes
    }

    /// The text of `ids`. Byte sequences that are not valid UTF-8 (a token cut inside a character) become U+FFFD, as
    /// Hugging Face's `String::from_utf8_lossy` makes them.
    /// - Parameter skipSpecialTokens: leave out special tokens (`<|im_end|>`), as Hugging Face's `skip_special_tokens`.
    /// - Throws: `TokenizerError.tokenIDOutOfRange` for an id outside the vocabulary.
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = false) throws(TokenizerError) -> String {
        String(decoding: try decodeBytes(ids, skipSpecialTokens: skipSpecialTokens), as: UTF8.self)
    }
}

/// Turns token ids into text one at a time, holding back the bytes of a character that later tokens complete, so
/// that a generation loop can print as it goes.
public struct TokenStreamDecoder: Sendable {
    /// The tokenizer whose ids are decoded.
    public let tokenizer: ByteLevelBPETokenizer
    /// Whether special tokens are left out of the text.
    public let skipsSpecialTokens: Bool
    private var pending: [UInt8] = []

    /// A decoder for `tokenizer`'s ids.
    public init(tokenizer: ByteLevelBPETokenizer, skipSpecialTokens: Bool = false) {
        self.tokenizer = tokenizer
        skipsSpecialTokens = skipSpecialTokens
    }

    /// Adds one token and returns the text that is now complete (possibly empty).
    /// - Throws: `TokenizerError.tokenIDOutOfRange` for an id outside the vocabulary.
    public mutating func append(_ id: Int) throws(TokenizerError) -> String {
        let piece = try tokenizer.decodeBytes(id)
        if skipsSpecialTokens && tokenizer.isSpecial(id) { return "" }
        pending.append(contentsOf: piece)
        let complete = pending.count - Self.incompleteSuffixLength(pending)
        guard complete > 0 else { return "" }
        let text = String(decoding: pending[..<complete], as: UTF8.self)
        pending.removeFirst(complete)
        return text
    }

    /// Returns whatever is held back (an unfinished character becomes U+FFFD) and empties the decoder.
    public mutating func finish() -> String {
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }

    /// The length of a trailing UTF-8 sequence that has a valid lead byte but too few continuation bytes yet.
    static func incompleteSuffixLength(_ bytes: [UInt8]) -> Int {
        var continuation = 0
        var index = bytes.count - 1
        while index >= 0 && continuation < 3 && bytes[index] & 0xC0 == 0x80 {
            continuation += 1
            index -= 1
        }
        guard index >= 0 else { return 0 }
        let lead = bytes[index]
        let needed: Int
        switch lead {
        case 0xC2...0xDF: needed = 1
        case 0xE0...0xEF: needed = 2
        case 0xF0...0xF4: needed = 3
        default: return 0  // ASCII, a stray continuation or an invalid lead: nothing to wait for
        }
        return continuation < needed ? continuation + 1 : 0
    }
}
