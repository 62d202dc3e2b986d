import Testing
import Tokenization

@Suite("Pre-tokenizer")
struct PreTokenizerTests {
    /// Splits worked out by hand from the GPT-2 regex's alternatives, in order.
    @Test(arguments: [
        ("Hello world", ["Hello", " world"]),
        ("a  b", ["a", " ", " b"]),
        ("a   \n  b", ["a", "   \n ", " b"]),
        ("x \n", ["x", " \n"]),
        ("I'm they're we'll", ["I", "'m", " they", "'re", " we", "'ll"]),
        ("'LL 'S", ["'", "LL", " '", "S"]),
        (" 's", [" '", "s"]),
        ("hello!!! world?'s", ["hello", "!!!", " world", "?'", "s"]),
        ("3.14 x2", ["3", ".", "14", " x", "2"]),
        ("a\tb", ["a", "\t", "b"]),
        ("\n\nfoo", ["\n", "\n", "foo"]),
        ("   ", ["   "]),
        (" ", [" "]),
        ("", []),
        ("naïve café", ["naïve", " café"]),
        ("e\u{301}", ["e", "\u{301}"]),
        ("日本語。", ["日本語", "。"]),
        ("a\u{00A0}b", ["a", "\u{00A0}", "b"]),
        ("🍕 🍕!", ["🍕", " 🍕!"]),
    ])
    func gpt2SplitsByHand(text: String, expected: [String]) {
        #expect(PreTokenizer.gpt2.split(text) == expected)
    }

    @Test(arguments: [
        (" 42", [" ", "4", "2"]),
        ("3.14", ["3", ".", "1", "4"]),
        ("x1y22", ["x", "1", "y", "2", "2"]),
        ("½²Ⅻ", ["½", "²", "Ⅻ"]),
        ("٣٤ ab", ["٣", "٤", " ab"]),
    ])
    func smolLMIsolatesEveryNumericScalar(text: String, expected: [String]) {
        #expect(PreTokenizer.smolLM.split(text) == expected)
    }

    @Test func digitRunsStayTogetherWithoutIndividualDigits() {
        let preTokenizer = PreTokenizer(steps: [.digits(individualDigits: false)])
        #expect(preTokenizer.split("ab12 3x") == ["ab", "12", " ", "3", "x"])
    }

    @Test(arguments: [
        ("\n\nfoo", ["\n\n", "foo"]),
        ("12345", ["123", "45"]),
        ("'Hello HE'S", ["'Hello", " HE", "'S"]),
        ("a  \n  b", ["a", "  \n", " ", " b"]),
        ("foo!!\n\nbar", ["foo", "!!\n\n", "bar"]),
        ("\u{17F}x 'ſ", ["ſx", " '", "ſ"]),
    ])
    func llama3SplitsByHand(text: String, expected: [String]) {
        #expect(PreTokenizer.llama3.split(text) == expected)
    }

    @Test func prefixSpaceIsAddedOnlyWhenMissing() {
        let preTokenizer = PreTokenizer(steps: [.addPrefixSpace, .split(.gpt2)])
        #expect(preTokenizer.split("Hello world") == [" Hello", " world"])
        #expect(preTokenizer.split(" Hello") == [" Hello"])
    }

    /// Every split of the fixture's hard strings equals Hugging Face tokenizers' (`Digits`, `ByteLevel` and
    /// `Split(Regex)` run by the reference script).
    @Test(arguments: [("gpt2", PreTokenizer.gpt2), ("smollm", .smolLM), ("llama3", .llama3)])
    func splitsMatchHuggingFace(name: String, preTokenizer: PreTokenizer) throws {
        let fixture = Fixtures.reference
        let expected = try #require(fixture.pretokenizerSplits[name])
        try #require(expected.count == fixture.hardStrings.count)
        for (hard, pieces) in zip(fixture.hardStrings, expected) {
            #expect(preTokenizer.split(hard.text) == pieces, "\(name): \(hard.text.debugDescription)")
        }
    }

    @Test func piecesConcatenateToTheInput() {
        var generator = SplitMix64(seed: 7)
        for _ in 0..<200 {
            let text = RandomText.make(length: Int.random(in: 0...40, using: &generator), using: &generator)
            for preTokenizer in [PreTokenizer.gpt2, .smolLM, .llama3] {
                let pieces = preTokenizer.split(text)
                #expect(pieces.joined() == text)
                #expect(!pieces.contains(""))
            }
        }
    }

    @Test(arguments: [
        ("smollm", PreTokenizer.smolLM), ("gpt2", .gpt2), ("gpt-2", .gpt2), ("llama-bpe", .llama3),
        ("starcoder", .smolLM),
    ])
    func ggufNamesMapToPreTokenizers(name: String, expected: PreTokenizer) throws {
        #expect(try PreTokenizer(ggufName: name) == expected)
    }

    @Test(arguments: ["default", "qwen2", "deepseek-llm", ""])
    func unknownGGUFNameIsAnErrorNamingIt(name: String) {
        #expect(throws: TokenizerError.unsupportedPreTokenizer(name)) { try PreTokenizer(ggufName: name) }
        let message = TokenizerError.unsupportedPreTokenizer(name).description
        #expect(message.contains("'\(name)'") && message.contains("smollm"))
    }
}

/// Random text drawn from ranges that exercise every scalar class: ASCII, whitespace of all kinds, Latin-1, combining
/// marks, CJK, Devanagari, numerals of all three N categories, emoji with ZWJ and variation selectors, private use.
enum RandomText {
    static let ranges: [ClosedRange<UInt32>] = [
        0x20...0x7E, 0x20...0x7E, 0x20...0x7E, 0x09...0x0D, 0x00...0x1F, 0xA0...0xFF, 0x300...0x36F,
        0x4E00...0x4E40, 0x900...0x97F, 0x2000...0x206F, 0x3000...0x3003, 0x2150...0x218B, 0x660...0x669,
        0x1F600...0x1F64F, 0x200D...0x200D, 0xFE0F...0xFE0F, 0xF0000...0xF0010, 0x10FFF0...0x10FFFD, 0x27...0x27,
    ]

    static func make(length: Int, using generator: inout SplitMix64) -> String {
        var scalars = String.UnicodeScalarView()
        for _ in 0..<length {
            let range = ranges[Int.random(in: 0..<ranges.count, using: &generator)]
            if let scalar = Unicode.Scalar(UInt32.random(in: range, using: &generator)) { scalars.append(scalar) }
        }
        return String(scalars)
    }
}
