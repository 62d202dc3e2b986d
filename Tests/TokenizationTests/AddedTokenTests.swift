import Testing
import Tokenization

@Suite("Added and special tokens")
struct AddedTokenTests {
    @Test func specialTokensAreMatchedWholeBeforeBPE() throws {
        let tokenizer = try Fixtures.tinyTokenizer(merges: ["h i"], specials: ["<|im_start|>", "<|im_end|>"])
        let start = try #require(tokenizer.id(for: "<|im_start|>"))
        let end = try #require(tokenizer.id(for: "<|im_end|>"))
        let ids = tokenizer.encode("<|im_start|>hi<|im_end|>\n")
        #expect(ids == [start] + Fixtures.ids(["hi"], in: tokenizer) + [end] + Fixtures.ids(["Ċ"], in: tokenizer))
        #expect(tokenizer.isSpecial(start) && !tokenizer.isSpecial(ids[1]))
    }

    @Test func theLongestMatchWinsAtTheLeftmostPosition() throws {
        let tokenizer = try Fixtures.tinyTokenizer(merges: [], specials: ["<s>", "<s>x", "s>xy"])
        let short = try #require(tokenizer.id(for: "<s>"))
        let long = try #require(tokenizer.id(for: "<s>x"))
        #expect(tokenizer.encode("<s>xy") == [long] + Fixtures.ids(["y"], in: tokenizer))
        #expect(tokenizer.encode("<s><s>") == [short, short])
    }

    @Test func unfinishedMarkersAreOrdinaryText() throws {
        let tokenizer = try Fixtures.tinyTokenizer(merges: [], specials: ["<|im_end|>"])
        let ids = tokenizer.encode("<|im_end|")
        #expect(!ids.contains { tokenizer.isSpecial($0) })
        #expect(try tokenizer.decode(ids) == "<|im_end|")
    }

    @Test func specialTokensCanBeLeftUnparsed() throws {
        let plain = try Fixtures.tinyTokenizer(merges: ["< |"])
        let tokenizer = try Fixtures.tinyTokenizer(merges: ["< |"], specials: ["<|endoftext|>"])
        let text = "a<|endoftext|>b"
        #expect(tokenizer.encode(text, parseSpecialTokens: false) == plain.encode(text))
        #expect(tokenizer.encode(text).count == 3)
    }

    @Test func userDefinedTokensAreMatchedEvenWithoutParsingSpecials() throws {
        let tokens = Fixtures.tinyTokens(merges: []) + ["<think>"]
        let types = [Int32](repeating: 1, count: 256) + [4]
        let tokenizer = try ByteLevelBPETokenizer(tokens: tokens, merges: [], tokenTypes: types, preTokenizer: .gpt2)
        let think = try #require(tokenizer.id(for: "<think>"))
        #expect(!tokenizer.isSpecial(think))
        #expect(tokenizer.encode("<think>", parseSpecialTokens: false) == [think])
    }

    @Test func stripFlagsAbsorbNeighbouringWhitespace() throws {
        var builder = TokenizerJSONBuilder(merges: [], added: [("<mask>", true)])
        var added = (builder.root["added_tokens"] as! [[String: Any]])[0]
        added["lstrip"] = true
        added["rstrip"] = true
        builder.set("added_tokens", [added])
        let tokenizer = try builder.build()
        let mask = try #require(tokenizer.id(for: "<mask>"))
        #expect(
            tokenizer.encode("a  <mask>\t b") == Fixtures.ids(["a"], in: tokenizer) + [mask]
                + Fixtures.ids(["b"], in: tokenizer))
    }

    @Test func normalizedTokensAreMatchedInASecondPass() throws {
        // Hugging Face splits on `normalized: false` tokens first, then on `normalized: true` ones in what is left,
        // so "bc" wins over the longer "abcd" that starts earlier.
        var builder = TokenizerJSONBuilder(merges: [], added: [("bc", false), ("abcd", false)])
        var added = builder.root["added_tokens"] as! [[String: Any]]
        added[1]["normalized"] = true
        builder.set("added_tokens", added)
        let tokenizer = try builder.build()
        let bc = try #require(tokenizer.id(for: "bc"))
        #expect(
            tokenizer.encode("abcd") == Fixtures.ids(["a"], in: tokenizer) + [bc] + Fixtures.ids(["d"], in: tokenizer))
        #expect(tokenizer.encode("xabcdx").count == 5)
    }

    @Test func bosAndEOSAreAddedOnlyWhenAsked() throws {
        let tokens = Fixtures.tinyTokens(merges: []) + ["<s>", "</s>"]
        let types = [Int32](repeating: 1, count: 256) + [3, 3]
        let tokenizer = try ByteLevelBPETokenizer(
            tokens: tokens, merges: [], tokenTypes: types, bosTokenID: 256, eosTokenID: 257, addBOS: true, addEOS: true,
            ggufPreTokenizer: "gpt2")
        #expect(tokenizer.encode("a") == [256] + Fixtures.ids(["a"], in: tokenizer) + [257])
        #expect(tokenizer.encode("a", addSpecialTokens: false) == Fixtures.ids(["a"], in: tokenizer))
        #expect(tokenizer.encode("") == [256, 257])
    }
}
