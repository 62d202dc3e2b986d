import Testing
import Tokenization

@Suite("Decoding")
struct DecodingTests {
    /// decode(encode(x)) == x for random text over every scalar class, with each pre-tokenizer, when the vocabulary
    /// has a token for every byte.
    @Test(arguments: [("gpt2", PreTokenizer.gpt2), ("smollm", .smolLM), ("llama3", .llama3)])
    func decodeInvertsEncode(name: String, preTokenizer: PreTokenizer) throws {
        let merges = ["Ġ t", "h e", "Ġt he", "Ġ Ġ", "ĠĠ ĠĠ", "e r", "i n", "Ċ Ċ", "ä ¸", "ì ķ"]
        let tokenizer = try Fixtures.tinyTokenizer(merges: merges, preTokenizer: preTokenizer)
        var generator = SplitMix64(seed: 2024)
        for _ in 0..<300 {
            let text = RandomText.make(length: Int.random(in: 0...60, using: &generator), using: &generator)
            let ids = tokenizer.encode(text)
            #expect(try tokenizer.decode(ids) == text, "\(name): \(text.debugDescription)")
        }
    }

    @Test func bytesCutInsideACharacterDecodeToReplacementCharacters() throws {
        let tokenizer = try Fixtures.tinyTokenizer(merges: [])
        let ids = tokenizer.encode("日")  // three byte tokens
        #expect(ids.count == 3)
        #expect(try tokenizer.decode(Array(ids.prefix(2))) == "\u{FFFD}")
        #expect(try tokenizer.decodeBytes(ids[0]) == [0xE6])
        #expect(try tokenizer.decode(ids + ids.prefix(1) + Fixtures.ids(["a"], in: tokenizer)) == "日\u{FFFD}a")
    }

    @Test func specialTokensDecodeToTheirTextUnlessSkipped() throws {
        let tokenizer = try Fixtures.tinyTokenizer(merges: [], specials: ["<|im_end|>"])
        let ids = tokenizer.encode("hi<|im_end|>")
        #expect(try tokenizer.decode(ids) == "hi<|im_end|>")
        #expect(try tokenizer.decode(ids, skipSpecialTokens: true) == "hi")
    }

    @Test(arguments: [-1, 256, 1_000_000])
    func idsOutsideTheVocabularyAreErrors(id: Int) throws {
        let tokenizer = try Fixtures.tinyTokenizer(merges: [])
        #expect(throws: TokenizerError.tokenIDOutOfRange(role: "decoded", id: id, vocabularySize: 256)) {
            try tokenizer.decode([0, id])
        }
        #expect(tokenizer.token(for: id) == nil)
    }

    @Test func streamingHoldsBackUnfinishedCharacters() throws {
        let tokenizer = try Fixtures.tinyTokenizer(merges: ["h i"], specials: ["<|im_end|>"])
        let text = "hi 日本🍕!"
        let ids = tokenizer.encode(text + "<|im_end|>")
        var stream = TokenStreamDecoder(tokenizer: tokenizer, skipSpecialTokens: true)
        var pieces: [String] = []
        for id in ids { pieces.append(try stream.append(id)) }
        pieces.append(stream.finish())
        #expect(pieces.joined() == text)
        #expect(!pieces.contains { $0.contains("\u{FFFD}") })
        // ids: "hi", "Ġ", then "日" as three byte tokens: nothing is printed until the third.
        #expect(pieces[2] == "" && pieces[3] == "" && pieces[4] == "日")
    }

    @Test func finishingAnUnfinishedCharacterGivesAReplacementCharacter() throws {
        let tokenizer = try Fixtures.tinyTokenizer(merges: [])
        var stream = TokenStreamDecoder(tokenizer: tokenizer)
        #expect(try stream.append(tokenizer.encode("é")[0]) == "")
        #expect(stream.finish() == "\u{FFFD}")
        #expect(stream.finish() == "")
    }
}
