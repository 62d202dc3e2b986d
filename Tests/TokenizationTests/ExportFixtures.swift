import Foundation
import Testing
import Tokenization

/// Synthetic tokenizers and texts for the `tokenizer.json` export tests.
enum ExportFixtures {
    /// Merge rules with two repeats. GGUF keeps the first `a b` (rank 0), so "abc" is `ab c`; Hugging Face reading
    /// this list as it is would keep the last (rank 2, after `b c`) and give `a bc`.
    static let merges = [
        "a b", "b c", "a b", "Ġ t", "h e", "Ġt he", "r e", "Ġthe re", "h e", "e r", "Ġ Ġ", "ĠĠ ĠĠ", "Ċ Ċ",
        "1 2", "Ġ 1", "' s", "Ã ©", "Ã© t", "Ġ a", "Ġa b",
    ]

    /// Added tokens appended after the vocabulary, with their GGUF token types: 3 control (special), 2 unknown
    /// (special), 4 user-defined (matched whole, not special), 5 unused (an ordinary vocabulary entry).
    static let addedTokens: [(content: String, type: Int32)] = [
        ("<|bos|>", 3), ("<|eos|>", 3), ("<unk>", 2), ("<tool>", 4), ("[user token]", 4), ("<|im_start|>", 3),
        ("<unused0>", 5),
    ]

    /// The configurations the round-trip tests run over: each pre-tokenizer the exporter maps, with and without
    /// BOS / EOS.
    enum Case: String, CaseIterable, CustomTestStringConvertible {
        case smolLM, gpt2WithBOSAndEOS, llama3WithBOS, digitRunsThenPrefixSpace, llama3ThenPrefixSpace

        var testDescription: String { rawValue }

        var preTokenizer: PreTokenizer {
            switch self {
            case .smolLM: .smolLM
            case .gpt2WithBOSAndEOS: .gpt2
            case .llama3WithBOS: .llama3
            case .digitRunsThenPrefixSpace:
                PreTokenizer(steps: [.digits(individualDigits: false), .addPrefixSpace, .split(.gpt2)])
            case .llama3ThenPrefixSpace: PreTokenizer(steps: [.split(.llama3), .addPrefixSpace])
            }
        }
        var ignoresMerges: Bool { self == .llama3WithBOS }
        var addsBOS: Bool { self == .gpt2WithBOSAndEOS || self == .llama3WithBOS }
        var addsEOS: Bool { self == .gpt2WithBOSAndEOS }
    }

    /// A tokenizer built from GGUF-style arrays: `Fixtures.tinyTokens(merges:)` then `addedTokens`.
    static func ggufTokenizer(_ testCase: Case) throws -> ByteLevelBPETokenizer {
        let base = Fixtures.tinyTokens(merges: merges)
        let tokens = base + addedTokens.map(\.content)
        let types = [Int32](repeating: 1, count: base.count) + addedTokens.map(\.type)
        return try ByteLevelBPETokenizer(
            tokens: tokens, merges: merges, tokenTypes: types, bosTokenID: base.count, eosTokenID: base.count + 1,
            addBOS: testCase.addsBOS, addEOS: testCase.addsEOS, preTokenizer: testCase.preTokenizer,
            ignoresMerges: testCase.ignoresMerges)
    }

    /// Texts that exercise merges, pre-tokenizer boundaries and added tokens.
    static let trickyStrings = [
        "", " ", "a", "abc", "abcabc ab bc  abc", "the there ther here", "  the\n\n\nthere  \t x", "Hello, World!",
        "12 123 1234 ½ ٣٤ 1½", "x1y22z333", "'s 'S 'll I'M we've", "café été ét", "<|bos|>hi<|eos|>",
        "<|im_start|>user\nhello<|im_end|>", "<tool>x</tool>", "a<tool><tool>b", "[user token] and [user token",
        "<unk><unk>", "<|bos|", "<|bos|><|bos|>", "🍕🏳️‍🌈 👩🏽‍💻", "日本語のテキスト", "नमस्ते", "مرحبا بالعالم", "\r\n\r\n",
        "\u{0}\u{1}\u{7F}", "\u{2028}\u{00A0}\u{3000}x", "\u{E000}\u{10FFFF}", "    ab", "a    ", "\t\tab",
        " <|bos|> ab", "ab<|eos|>\n",
    ]

    /// Seeded random texts mixing added-token text, merge material and scalars. With `anyScalar`, one item in six is
    /// any Unicode scalar; otherwise scalars come from long-assigned blocks only (Latin, Greek, Cyrillic, Arabic,
    /// Devanagari, kana, CJK, emoji, punctuation, digits), where every Unicode version classifies them alike.
    static func randomTexts(count: Int, seed: UInt64, anyScalar: Bool) -> [String] {
        let pieces = [
            "<|bos|>", "<|eos|>", "<tool>", "[user token]", "<unk>", "<|im_start|>", "the", " there", "abc", "12",
            "'s", "\r\n", "  ", "é", "\n\n",
        ]
        let blocks: [ClosedRange<UInt32>] = [
            0x20...0x7E, 0x20...0x7E, 0x09...0x0D, 0xA0...0x24F, 0x391...0x3A1, 0x3B1...0x3C9, 0x400...0x4FF,
            0x620...0x64A, 0x660...0x669, 0x905...0x939, 0x966...0x96F, 0x3041...0x3096, 0x4E00...0x4FFF,
            0x1F600...0x1F64F, 0x2010...0x2027, 0xFF10...0xFF19,
        ]
        var generator = SplitMix64(seed: seed)
        var texts: [String] = []
        for _ in 0..<count {
            var text = ""
            for _ in 0..<Int.random(in: 0..<24, using: &generator) {
                let roll = Int.random(in: 0..<6, using: &generator)
                if roll == 0 {
                    text += pieces.randomElement(using: &generator)!
                } else if roll == 1 && anyScalar {
                    var value = UInt32.random(in: 0...0x10FFFF, using: &generator)
                    if (0xD800...0xDFFF).contains(value) { value -= 0x800 }  // surrogates are not scalars
                    text.unicodeScalars.append(Unicode.Scalar(value)!)
                } else {
                    let block = blocks.randomElement(using: &generator)!
                    text.unicodeScalars.append(Unicode.Scalar(UInt32.random(in: block, using: &generator))!)
                }
            }
            texts.append(text)
        }
        return texts
    }

    /// `tokenizer`'s document read back, with BOS and EOS named as `tokenizer_config.json` would name them.
    static func roundTrip(_ tokenizer: ByteLevelBPETokenizer) throws -> (data: Data, reloaded: ByteLevelBPETokenizer) {
        let data = try tokenizer.tokenizerJSON()
        let reloaded = try ByteLevelBPETokenizer(
            tokenizerJSON: data, bosToken: tokenizer.bosToken, eosToken: tokenizer.eosToken)
        return (data, reloaded)
    }

    /// Expects `reloaded` to describe and behave like `original`: the same settings, the same bytes for every id, the
    /// same ids for every text (with and without BOS/EOS, with special tokens parsed or not) and the same decoded text.
    static func expectSameBehaviour(
        _ original: ByteLevelBPETokenizer, _ reloaded: ByteLevelBPETokenizer, texts: [String],
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        #expect(reloaded.vocabularySize == original.vocabularySize, sourceLocation: sourceLocation)
        #expect(reloaded.mergeCount == original.mergeCount, sourceLocation: sourceLocation)
        #expect(reloaded.addedTokens == original.addedTokens, sourceLocation: sourceLocation)
        #expect(reloaded.preTokenizer == original.preTokenizer, sourceLocation: sourceLocation)
        #expect(reloaded.ignoresMerges == original.ignoresMerges, sourceLocation: sourceLocation)
        #expect(reloaded.prefixTokenIDs == original.prefixTokenIDs, sourceLocation: sourceLocation)
        #expect(reloaded.suffixTokenIDs == original.suffixTokenIDs, sourceLocation: sourceLocation)
        #expect(reloaded.bosTokenID == original.bosTokenID, sourceLocation: sourceLocation)
        #expect(reloaded.eosTokenID == original.eosTokenID, sourceLocation: sourceLocation)
        #expect(reloaded.unknownTokenID == original.unknownTokenID, sourceLocation: sourceLocation)
        #expect(reloaded.fusesUnknownTokens == original.fusesUnknownTokens, sourceLocation: sourceLocation)
        #expect(reloaded.bytesWithoutToken == original.bytesWithoutToken, sourceLocation: sourceLocation)
        let differentIDs = try (0..<original.vocabularySize).filter { id in
            try reloaded.decodeBytes(id) != original.decodeBytes(id) || reloaded.isSpecial(id) != original.isSpecial(id)
                || reloaded.token(for: id) != original.token(for: id)
        }
        #expect(differentIDs.isEmpty, "ids that decode or are flagged differently: \(differentIDs.prefix(10))")
        var mismatches: [String] = []
        for text in texts {
            for addSpecialTokens in [true, false] {
                for parseSpecialTokens in [true, false] {
                    let expected = original.encode(
                        text, addSpecialTokens: addSpecialTokens, parseSpecialTokens: parseSpecialTokens)
                    let found = reloaded.encode(
                        text, addSpecialTokens: addSpecialTokens, parseSpecialTokens: parseSpecialTokens)
                    if found != expected {
                        mismatches.append(
                            "\(text.debugDescription) (add \(addSpecialTokens), parse \(parseSpecialTokens)): "
                                + "\(found) after the round trip, \(expected) before")
                    }
                }
            }
            let ids = original.encode(text)
            for skip in [true, false] {
                if try reloaded.decode(ids, skipSpecialTokens: skip) != original.decode(ids, skipSpecialTokens: skip) {
                    mismatches.append("decode of \(text.debugDescription) (skip special \(skip)) differs")
                }
            }
        }
        #expect(
            mismatches.isEmpty, "\(mismatches.count) mismatches, first: \(mismatches.prefix(3))",
            sourceLocation: sourceLocation)
    }

    /// A top-level field of an exported document, through `JSONSerialization`.
    static func field(_ key: String, of data: Data) throws -> Any? {
        let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        return root[key]
    }

    /// A `JSONSerialization` value as sorted-key JSON text, so values can be compared (Foundation on Linux does not
    /// bridge Swift dictionaries to `NSObject` for `isEqual`).
    static func canonical(_ value: Any?) throws -> String {
        guard let value else { return "<absent>" }
        let data = try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed])
        return String(decoding: data, as: UTF8.self)
    }
}
