import Foundation
import Testing
import Tokenization

/// Cross-check against Hugging Face: the fixture holds the ids transformers' tokenizer (built from the GGUF) gives;
/// the tokenizer here is built from the `tokenizer.json` that the same script saved next to the model.
@Suite(
    "SmolLM2 tokenizer vs Hugging Face",
    .enabled(
        if: Fixtures.hasSmolLM2Tokenizer,
        "needs ~/.cache/quanta/models/smollm2-tokenizer.json: run scripts/reference/tokenizer_reference.py"))
struct SmolLM2ReferenceTests {
    var tokenizer: ByteLevelBPETokenizer {
        get throws { try #require(Fixtures.smolLM2, "smollm2-tokenizer.json exists but does not load") }
    }

    @Test func vocabularyFactsMatchTheModel() throws {
        let tokenizer = try tokenizer
        #expect(tokenizer.vocabularySize == 49152)
        #expect(tokenizer.mergeCount == 48900)
        #expect(tokenizer.preTokenizer == .gpt2)  // transformers' GGUF builder drops SmolLM's Digits step
        #expect(tokenizer.addedTokens.count == 17 && tokenizer.addedTokens.allSatisfy(\.isSpecial))
        #expect(tokenizer.id(for: "<|im_start|>") == 1 && tokenizer.id(for: "<|im_end|>") == 2)
        #expect(tokenizer.prefixTokenIDs.isEmpty && tokenizer.suffixTokenIDs.isEmpty)
        #expect(tokenizer.bytesWithoutToken.count == 21)
    }

    @Test func hardStringsMatchHuggingFace() throws {
        let tokenizer = try tokenizer
        for hard in Fixtures.reference.hardStrings {
            let ids = tokenizer.encode(hard.text)
            #expect(ids == hard.ids, "\(hard.text.debugDescription)")
            #expect(try tokenizer.decode(ids) == hard.decoded, "\(hard.text.debugDescription)")
        }
    }

    /// The GGUF path (plain arrays, `smollm` pre-tokenizer, which isolates digits as llama.cpp does) gives the same ids:
    /// no SmolLM2 token holds a numeric character next to anything else, so the Digits step changes nothing.
    @Test func ggufArraysWithSmolLMPreTokenizerMatchHuggingFace() throws {
        let json = try tokenizer
        let tokens = (0..<json.vocabularySize).map { json.token(for: $0)! }
        let types: [Int32] = (0..<json.vocabularySize).map { json.isSpecial($0) ? 3 : 1 }
        let merges = try Self.merges(in: Data(contentsOf: Fixtures.smolLM2TokenizerJSON))
        let gguf = try ByteLevelBPETokenizer(
            tokens: tokens, merges: merges, tokenTypes: types, bosTokenID: 1, eosTokenID: 2, addBOS: false,
            ggufPreTokenizer: "smollm")
        for hard in Fixtures.reference.hardStrings {
            #expect(gguf.encode(hard.text) == hard.ids, "\(hard.text.debugDescription)")
        }
        for chat in Fixtures.reference.chats { #expect(gguf.encode(chat.text) == chat.ids) }
    }

    @Test func chatPromptsMatchHuggingFace() throws {
        let tokenizer = try tokenizer
        for chat in Fixtures.reference.chats {
            let text = ChatTemplate.smolLM2.render(
                chat.messages.map { ChatMessage(role: $0.role, content: $0.content) },
                addGenerationPrompt: chat.addGenerationPrompt)
            #expect(tokenizer.encode(text) == chat.ids)
        }
    }

    @Test func decodeInvertsEncodeWhereEveryByteHasAToken() throws {
        let tokenizer = try tokenizer
        let missing = Set(tokenizer.bytesWithoutToken)
        for hard in Fixtures.reference.hardStrings where !hard.text.utf8.contains(where: missing.contains) {
            #expect(try tokenizer.decode(tokenizer.encode(hard.text)) == hard.text)
        }
    }

    /// The whole of wiki.test.raw, as Python reads it (CRLF -> LF; 301,948 tokens, the reference count) and as raw
    /// bytes: count, the first 64 ids, every 997th id, and SHA-256 over all ids as little-endian uint32.
    @Test(.enabled(if: Fixtures.hasWikiText, "needs wiki.test.raw (QUANTA_WIKITEXT)"), arguments: [true, false])
    func wikiTextMatchesHuggingFace(universalNewlines: Bool) throws {
        let tokenizer = try tokenizer
        let wiki = Fixtures.reference.wiki
        let data = try Data(contentsOf: Fixtures.wikiTestRaw)
        #expect(SHA256.hexDigest([UInt8](data)) == wiki.fileSHA256)
        var text = try #require(String(data: data, encoding: .utf8))
        let expected = universalNewlines ? wiki.universalNewlines : wiki.raw
        if universalNewlines { text = text.replacingOccurrences(of: "\r\n", with: "\n") }
        #expect(SHA256.hexDigest(Array(text.utf8)) == expected.textSHA256)

        let ids = tokenizer.encode(text)
        #expect(ids.count == expected.count)
        #expect(Array(ids.prefix(expected.firstIDs.count)) == expected.firstIDs)
        let strided = stride(from: 0, to: ids.count, by: expected.stride).map { ids[$0] }
        #expect(strided == expected.stridedIDs)
        if let mismatch = zip(strided, expected.stridedIDs).enumerated().first(where: { $0.element.0 != $0.element.1 }) {
            Issue.record("first strided mismatch at id index \(mismatch.offset * expected.stride)")
        }
        #expect(SHA256.hexDigest(littleEndianUInt32: ids) == expected.idsSHA256)
        if universalNewlines { #expect(ids.count == 301_948 && Array(ids.prefix(5)) == [446, 6356, 389, 9226, 352]) }
    }

    private static func merges(in data: Data) throws -> [String] {
        let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let model = try #require(root["model"] as? [String: Any])
        let list = try #require(model["merges"] as? [Any])
        return try list.map { item in
            if let line = item as? String { return line }
            let pair = try #require(item as? [String])
            return pair.joined(separator: " ")
        }
    }
}

@Suite("SHA-256 helper")
struct SHA256Tests {
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
    ])
    func knownDigests(input: String, digest: String) {
        #expect(SHA256.hexDigest(Array(input.utf8)) == digest)
    }
}
