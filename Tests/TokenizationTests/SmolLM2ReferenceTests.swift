import Foundation
import Testing
import Tokenization

/// Cross-check against Hugging Face tokenizers. The fixture (scripts/reference/tokenizer_reference.py) holds the ids
/// that transformers' tokenizer built from SmolLM2's GGUF gives (`ids`, GPT-2 pre-tokenizer: transformers does not
/// map GGUF `smollm` to SmolLM2's Digits step), and the ids the same vocabulary gives with SmolLM2's own
/// Digits + ByteLevel pre-tokenizer (`idsSmolLMDigits`, what llama.cpp's `smollm` does). They differ only where a
/// space precedes a non-ASCII numeral: once in wiki.test.raw (" ½").
@Suite(
    "SmolLM2 from GGUF metadata vs Hugging Face",
    .enabled(if: Fixtures.hasSmolLM2GGUF, "needs SmolLM2-135M-Instruct.Q4_1.gguf: run scripts/fetch-models.sh"))
struct SmolLM2GGUFReferenceTests {
    var tokenizers: (smolLM: ByteLevelBPETokenizer, gpt2: ByteLevelBPETokenizer) {
        get throws { try #require(Fixtures.smolLM2GGUFTokenizers, "the GGUF's tokenizer metadata does not load") }
    }

    @Test func vocabularyFactsMatchTheModel() throws {
        let tokenizer = try tokenizers.smolLM
        #expect(tokenizer.vocabularySize == 49152)
        #expect(tokenizer.mergeCount == 48900)
        #expect(tokenizer.preTokenizer == .smolLM)
        #expect(tokenizer.bosTokenID == 1 && tokenizer.eosTokenID == 2)
        #expect(tokenizer.prefixTokenIDs.isEmpty && tokenizer.suffixTokenIDs.isEmpty)  // add_bos_token = false
        #expect(tokenizer.addedTokens.map(\.id) == Array(0..<17) && tokenizer.addedTokens.allSatisfy(\.isSpecial))
        #expect(tokenizer.id(for: "<|im_start|>") == 1 && tokenizer.id(for: "<|im_end|>") == 2)
        #expect(tokenizer.bytesWithoutToken.count == 21)
    }

    @Test func hardStringsMatchHuggingFace() throws {
        let (smolLM, gpt2) = try tokenizers
        for hard in Fixtures.reference.hardStrings {
            #expect(smolLM.encode(hard.text) == hard.idsSmolLMDigits, "smollm: \(hard.text.debugDescription)")
            let ids = gpt2.encode(hard.text)
            #expect(ids == hard.ids, "gpt2: \(hard.text.debugDescription)")
            #expect(try gpt2.decode(ids) == hard.decoded, "\(hard.text.debugDescription)")
        }
    }

    @Test func digitsStepChangesOnlySpacedNonASCIINumerals() throws {
        let (smolLM, gpt2) = try tokenizers
        let text = "died 4 ½ months"
        let spelled = { (tokenizer: ByteLevelBPETokenizer) in
            tokenizer.encode(text).map { tokenizer.token(for: $0) ?? "?" }
        }
        #expect(spelled(smolLM) == ["died", "Ġ", "4", "Ġ", "Â½", "Ġmonths"])
        #expect(spelled(gpt2) == ["died", "Ġ", "4", "ĠÂ", "½", "Ġmonths"])
    }

    @Test func theGGUFChatTemplateRendersLikeJinja() throws {
        let metadata = try #require(Fixtures.smolLM2Metadata)
        let template = try ChatTemplate(jinja: try metadata.string("tokenizer.chat_template"))
        #expect(template == .smolLM2)
        let tokenizer = try tokenizers.smolLM
        for chat in Fixtures.reference.chats {
            let text = template.render(
                chat.messages.map { ChatMessage(role: $0.role, content: $0.content) },
                addGenerationPrompt: chat.addGenerationPrompt)
            #expect(text == chat.text)
            #expect(tokenizer.encode(text) == chat.ids)
        }
    }

    @Test func decodeInvertsEncodeWhereEveryByteHasAToken() throws {
        let tokenizer = try tokenizers.smolLM
        let missing = Set(tokenizer.bytesWithoutToken)
        for hard in Fixtures.reference.hardStrings where !hard.text.utf8.contains(where: missing.contains) {
            #expect(try tokenizer.decode(tokenizer.encode(hard.text)) == hard.text)
        }
    }

    enum WikiCase: String, CaseIterable {
        /// Pre-tokenizer `smollm` (the GGUF's), text as Python's `open()` reads it (CRLF -> LF).
        case smolLMUniversalNewlines
        /// GPT-2 pre-tokenizer (transformers' GGUF tokenizer), CRLF -> LF: the reference 301,948 tokens.
        case gpt2UniversalNewlines
        /// GPT-2 pre-tokenizer on the file's raw bytes (CRLF kept): 304,839 tokens.
        case gpt2Raw
    }

    /// The whole of wiki.test.raw: count, first 64 ids, every 997th id, SHA-256 of all ids as little-endian uint32.
    @Test(
        .enabled(if: Fixtures.hasWikiText, "needs ../shared/data/wikitext-2/wiki.test.raw"),
        arguments: WikiCase.allCases)
    func wikiTextMatchesHuggingFace(_ wikiCase: WikiCase) throws {
        let (smolLM, gpt2) = try tokenizers
        let wiki = Fixtures.reference.wiki
        switch wikiCase {
        case .smolLMUniversalNewlines:
            try WikiCheck.run(smolLM, expected: wiki.universalNewlinesSmolLMDigits, universalNewlines: true)
        case .gpt2UniversalNewlines:
            try WikiCheck.run(gpt2, expected: wiki.universalNewlines, universalNewlines: true)
        case .gpt2Raw:
            try WikiCheck.run(gpt2, expected: wiki.raw, universalNewlines: false)
        }
    }
}

/// The same checks on the `tokenizer.json` that transformers saved (the Hugging Face loading path).
@Suite(
    "SmolLM2 tokenizer.json vs Hugging Face",
    .enabled(
        if: Fixtures.hasSmolLM2Tokenizer,
        "needs ~/.cache/quanta/models/smollm2-tokenizer.json: run scripts/reference/tokenizer_reference.py"))
struct SmolLM2TokenizerJSONReferenceTests {
    var tokenizer: ByteLevelBPETokenizer {
        get throws { try #require(Fixtures.smolLM2, "smollm2-tokenizer.json exists but does not load") }
    }

    @Test func vocabularyFactsMatchTheModel() throws {
        let tokenizer = try tokenizer
        #expect(tokenizer.vocabularySize == 49152 && tokenizer.mergeCount == 48900)
        #expect(tokenizer.preTokenizer == .gpt2)
        #expect(tokenizer.addedTokens.count == 17 && tokenizer.addedTokens.allSatisfy(\.isSpecial))
        #expect(tokenizer.bosTokenID == 1 && tokenizer.eosTokenID == 2)  // as given to the initializer
    }

    @Test func hardStringsAndChatsMatchHuggingFace() throws {
        let tokenizer = try tokenizer
        for hard in Fixtures.reference.hardStrings {
            let ids = tokenizer.encode(hard.text)
            #expect(ids == hard.ids, "\(hard.text.debugDescription)")
            #expect(try tokenizer.decode(ids) == hard.decoded, "\(hard.text.debugDescription)")
        }
        for chat in Fixtures.reference.chats { #expect(tokenizer.encode(chat.text) == chat.ids) }
    }

    @Test(.enabled(if: Fixtures.hasWikiText, "needs ../shared/data/wikitext-2/wiki.test.raw"))
    func wikiTextMatchesHuggingFace() throws {
        try WikiCheck.run(try tokenizer, expected: Fixtures.reference.wiki.universalNewlines, universalNewlines: true)
    }
}

enum WikiCheck {
    /// Encodes wiki.test.raw (CRLF -> LF first when `universalNewlines`) and compares with `expected`.
    static func run(
        _ tokenizer: ByteLevelBPETokenizer, expected: ReferenceFixture.WikiEncoding, universalNewlines: Bool
    ) throws {
        let bytes = try #require(Fixtures.wikiTestRawBytes)
        #expect(SHA256.hexDigest(bytes) == Fixtures.reference.wiki.fileSHA256, "wiki.test.raw is not the expected file")
        var text = try #require(String(validating: bytes, as: UTF8.self))
        if universalNewlines { text = text.replacingOccurrences(of: "\r\n", with: "\n") }
        #expect(SHA256.hexDigest(Array(text.utf8)) == expected.textSHA256)

        let ids = tokenizer.encode(text)
        #expect(ids.count == expected.count)
        #expect(Array(ids.prefix(expected.firstIDs.count)) == expected.firstIDs)
        let strided = stride(from: 0, to: ids.count, by: expected.stride).map { ids[$0] }
        #expect(strided.count == expected.stridedIDs.count)
        let firstMismatch = zip(strided, expected.stridedIDs).enumerated().first { $0.element.0 != $0.element.1 }
        if let (offset, (found, reference)) = firstMismatch {
            Issue.record("id #\(offset * expected.stride): \(found) here, \(reference) in Hugging Face")
        }
        #expect(SHA256.hexDigest(littleEndianUInt32: ids) == expected.idsSHA256)
        if universalNewlines { #expect(ids.count == 301_948 && Array(ids.prefix(5)) == [446, 6356, 389, 9226, 352]) }
    }
}

@Suite("SHA-256 helper")
struct SHA256Tests {
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (
            "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        ),
    ])
    func knownDigests(input: String, digest: String) {
        #expect(SHA256.hexDigest(Array(input.utf8)) == digest)
    }
}
