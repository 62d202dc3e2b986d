import Testing
@_spi(Testing) import Tokenization

@Suite("BPE merging")
struct BPEMergeTests {
    @Test func lowerRankMergesFirst() throws {
        let tokenizer = try Fixtures.tinyTokenizer(merges: ["a b", "ab c", "b c"])
        #expect(tokenizer.encode("abc") == Fixtures.ids(["abc"], in: tokenizer))
        let reversed = try Fixtures.tinyTokenizer(merges: ["b c", "a b"])
        #expect(reversed.encode("abc") == Fixtures.ids(["a", "bc"], in: reversed))
    }

    @Test func tiesGoToTheLeftmostPair() throws {
        let tokenizer = try Fixtures.tinyTokenizer(merges: ["a a"])
        #expect(tokenizer.encode("aaa") == Fixtures.ids(["aa", "a"], in: tokenizer))
        #expect(tokenizer.encode("aaaa") == Fixtures.ids(["aa", "aa"], in: tokenizer))
        #expect(tokenizer.encode("aaaaa") == Fixtures.ids(["aa", "aa", "a"], in: tokenizer))
    }

    @Test func spaceIsSpelledAsGWithDotAndMergesInsideAPiece() throws {
        let tokenizer = try Fixtures.tinyTokenizer(merges: ["Ġ t", "h e", "Ġt he"])
        #expect(tokenizer.encode("the the") == Fixtures.ids(["t", "he", "Ġthe"], in: tokenizer))
        #expect(tokenizer.token(for: tokenizer.encode(" ")[0]) == "Ġ")
        #expect(tokenizer.token(for: tokenizer.encode("\n")[0]) == "Ċ")
    }

    @Test func mergesNeverCrossPieceBoundaries() throws {
        let tokenizer = try Fixtures.tinyTokenizer(merges: ["o !", "a b"])
        // "o" is a letter piece and "!" an other piece: the rule "o !" never applies.
        #expect(tokenizer.encode("o!") == Fixtures.ids(["o", "!"], in: tokenizer))
    }

    @Test func charactersWithoutMergesFallBackToOneTokenPerByte() throws {
        let tokenizer = try Fixtures.tinyTokenizer(merges: ["a b"])
        let expected = "🍕".utf8.map { String(ByteLevelAlphabet.scalar(for: $0)) }
        #expect(tokenizer.encode("🍕") == Fixtures.ids(expected, in: tokenizer))
        #expect(try tokenizer.decode(tokenizer.encode("🍕 ab")) == "🍕 ab")
    }

    @Test func bytesWithoutATokenAreDroppedAndTheirNeighboursMayMerge() throws {
        // Hugging Face (no unk_token) and llama.cpp drop a byte whose alphabet scalar is not in the vocabulary.
        var tokens = Fixtures.tinyTokens(merges: ["! !"])
        let missing = String(ByteLevelAlphabet.scalar(for: 0x04))
        tokens.removeAll { $0 == missing }
        let tokenizer = try ByteLevelBPETokenizer(tokens: tokens, merges: ["! !"], preTokenizer: .gpt2)
        #expect(tokenizer.bytesWithoutToken == [0x04])
        #expect(tokenizer.encode("a\u{4}b") == Fixtures.ids(["a", "b"], in: tokenizer))
        #expect(tokenizer.encode("!\u{4}!") == Fixtures.ids(["!!"], in: tokenizer))
    }

    @Test func ignoreMergesTakesWholePiecesFromTheVocabulary() throws {
        let tokens = Fixtures.tinyTokens(merges: ["a b"]) + ["abc"]
        let plain = try ByteLevelBPETokenizer(tokens: tokens, merges: ["a b"], preTokenizer: .gpt2)
        let ignoring = try ByteLevelBPETokenizer(
            tokens: tokens, merges: ["a b"], preTokenizer: .gpt2, ignoresMerges: true)
        #expect(plain.encode("abc") == Fixtures.ids(["ab", "c"], in: plain))
        #expect(ignoring.encode("abc") == Fixtures.ids(["abc"], in: ignoring))
        #expect(ignoring.encode("abcd") == Fixtures.ids(["ab", "c", "d"], in: ignoring))
    }

    @Test func llamaBPEFromGGUFIgnoresMergesLikeLlamaCpp() throws {
        let tokens = Fixtures.tinyTokens(merges: ["a b"]) + ["abc"]
        let tokenizer = try ByteLevelBPETokenizer(
            tokens: tokens, merges: ["a b"], tokenTypes: [], bosTokenID: nil, eosTokenID: nil, addBOS: false,
            ggufPreTokenizer: "llama-bpe")
        #expect(tokenizer.ignoresMerges)
        #expect(tokenizer.preTokenizer == .llama3)
        #expect(tokenizer.encode("abc") == Fixtures.ids(["abc"], in: tokenizer))
    }

    /// The priority-queue loop (used for pieces longer than 48 bytes) and the rescanning reference agree, on pieces
    /// of every length around the switch-over, with merge tables full of overlapping rules.
    @Test(arguments: [1, 2, 3, 7, 47, 48, 49, 50, 97, 300])
    func queueAgreesWithLinearScan(length: Int) throws {
        let merges = [
            "a b", "b a", "a a", "ab a", "b b", "ba b", "aa b", "ab ab", "bb a", "aba b", "abab a", "c a",
            "ca b", "cab c", "b c",
        ]
        let tokenizer = try Fixtures.tinyTokenizer(merges: merges)
        var generator = SplitMix64(seed: UInt64(length))
        for _ in 0..<50 {
            let bytes = (0..<length).map { _ in
                [UInt8(ascii: "a"), UInt8(ascii: "b"), UInt8(ascii: "c")].randomElement(using: &generator)!
            }
            let reference = tokenizer.mergeBytes(bytes, algorithm: .linearScan)
            let fast = tokenizer.mergeBytes(bytes, algorithm: .priorityQueue)
            #expect(fast == reference, "\(String(decoding: bytes, as: UTF8.self))")
        }
    }

    @Test func longPiecesAreEncodedLikeShortOnes() throws {
        let tokenizer = try Fixtures.tinyTokenizer(merges: ["Ġ Ġ", "ĠĠ ĠĠ", "a b"])
        let spaces = String(repeating: " ", count: 203)
        let ids = tokenizer.encode(spaces + "x")
        // 202 spaces form one piece (the last one goes with "x"): 50 "ĠĠĠĠ" and one "ĠĠ", then "Ġ", "x".
        let expected = [String](repeating: "ĠĠĠĠ", count: 50) + ["ĠĠ", "Ġ", "x"]
        #expect(ids == Fixtures.ids(expected, in: tokenizer))
    }
}
