import Foundation
import Testing
import Tokenization

/// `tokenizerJSON()`: a tokenizer written as `tokenizer.json` and read back encodes and decodes exactly as before.
@Suite("tokenizer.json export")
struct TokenizerExportTests {
    /// SmolLM2's own `pre_tokenizer` (HuggingFaceTB/SmolLM2-135M-Instruct tokenizer.json).
    static var smolLM2PreTokenizer: [String: Any] {
        [
            "type": "Sequence",
            "pretokenizers": [
                ["type": "Digits", "individual_digits": true],
                ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true],
            ],
        ]
    }

    @Test(arguments: ExportFixtures.Case.allCases)
    func ggufTokenizerRoundTrips(_ testCase: ExportFixtures.Case) throws {
        let original = try ExportFixtures.ggufTokenizer(testCase)
        let (data, reloaded) = try ExportFixtures.roundTrip(original)
        let texts =
            ExportFixtures.trickyStrings
            + ExportFixtures.randomTexts(count: 300, seed: UInt64(testCase.rawValue.utf8.count), anyScalar: true)
        try ExportFixtures.expectSameBehaviour(original, reloaded, texts: texts)
        // Deterministic, and a fixed point: the reloaded tokenizer writes the same bytes.
        #expect(try original.tokenizerJSON() == data)
        #expect(try reloaded.tokenizerJSON() == data)
    }

    @Test func repeatedMergesKeepTheirGGUFRank() throws {
        let original = try ExportFixtures.ggufTokenizer(.smolLM)
        #expect(original.encode("abc") == Fixtures.ids(["ab", "c"], in: original))
        // Read with Hugging Face's rule (the last repeat wins), the raw list would give other ids.
        let lastWins = try TokenizerJSONBuilder(merges: ExportFixtures.merges).build()
        #expect(lastWins.encode("abc") == Fixtures.ids(["a", "bc"], in: lastWins))

        let (data, reloaded) = try ExportFixtures.roundTrip(original)
        #expect(reloaded.encode("abc") == Fixtures.ids(["ab", "c"], in: original))
        let model = try #require(try ExportFixtures.field("model", of: data) as? [String: Any])
        let merges = try #require(model["merges"] as? [[String]])
        var seen: Set<String> = []
        let firstOccurrences = ExportFixtures.merges.filter { seen.insert($0).inserted }
        #expect(merges.map { $0.joined(separator: " ") } == firstOccurrences)
        #expect(merges.count == original.mergeCount && merges.count == ExportFixtures.merges.count - 2)
    }

    @Test func documentHasTheHuggingFaceLayout() throws {
        let data = try ExportFixtures.ggufTokenizer(.smolLM).tokenizerJSON()
        #expect(
            try ExportFixtures.canonical(ExportFixtures.field("pre_tokenizer", of: data))
                == ExportFixtures.canonical(Self.smolLM2PreTokenizer))
        #expect(try ExportFixtures.field("post_processor", of: data) is NSNull)  // add_bos_token = false
        #expect(try ExportFixtures.field("normalizer", of: data) is NSNull)
        #expect(
            try ExportFixtures.canonical(ExportFixtures.field("decoder", of: data))
                == ExportFixtures.canonical(
                    ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true]))
        let added = try #require(try ExportFixtures.field("added_tokens", of: data) as? [[String: Any]])
        let base = Fixtures.tinyTokens(merges: ExportFixtures.merges).count
        let summary = added.map { entry in
            "\(entry["id"] as? Int ?? -1) \(entry["content"] as? String ?? "") \(entry["special"] as? Bool ?? false)"
        }
        // Control (3) and unknown (2) are special, user-defined (4) is not, unused (5) is no added token.
        #expect(
            summary == [
                "\(base) <|bos|> true", "\(base + 1) <|eos|> true", "\(base + 2) <unk> true",
                "\(base + 3) <tool> false", "\(base + 4) [user token] false", "\(base + 5) <|im_start|> true",
            ])
        #expect(added.allSatisfy { $0["normalized"] as? Bool == false && $0["single_word"] as? Bool == false })
        let model = try #require(try ExportFixtures.field("model", of: data) as? [String: Any])
        #expect(model["type"] as? String == "BPE" && model["ignore_merges"] as? Bool == false)
        #expect((model["vocab"] as? [String: Any])?.count == base + ExportFixtures.addedTokens.count)

        // The vocabulary is written one entry per line in id order; top-level keys are sorted.
        let text = String(decoding: data, as: UTF8.self)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let vocabStart = try #require(lines.firstIndex(of: "    \"vocab\": {"))
        let ids = lines[(vocabStart + 1)...].prefix { $0 != "    }" }.map { line in
            Int(line.split(separator: " ").last!.trimmingCharacters(in: CharacterSet(charactersIn: ",")))
        }
        #expect(ids == (0..<(base + ExportFixtures.addedTokens.count)).map { $0 })
        let topLevelKeys = lines.filter { $0.hasPrefix("  \"") }.map { $0.split(separator: "\"")[1] }
        #expect(topLevelKeys == topLevelKeys.sorted() && topLevelKeys.count == 9)
    }

    @Test func bosAndEOSBecomeATemplate() throws {
        let tokenizer = try ExportFixtures.ggufTokenizer(.gpt2WithBOSAndEOS)
        #expect(tokenizer.bosToken == "<|bos|>" && tokenizer.eosToken == "<|eos|>")
        let processor = try #require(
            try ExportFixtures.field("post_processor", of: tokenizer.tokenizerJSON()) as? [String: Any])
        let bos = tokenizer.bosTokenID!
        let eos = tokenizer.eosTokenID!
        let expected: [String: Any] = [
            "type": "TemplateProcessing",
            "single": [
                ["SpecialToken": ["id": "<|bos|>", "type_id": 0]], ["Sequence": ["id": "A", "type_id": 0]],
                ["SpecialToken": ["id": "<|eos|>", "type_id": 0]],
            ],
            "pair": [
                ["SpecialToken": ["id": "<|bos|>", "type_id": 0]], ["Sequence": ["id": "A", "type_id": 0]],
                ["SpecialToken": ["id": "<|eos|>", "type_id": 0]], ["SpecialToken": ["id": "<|bos|>", "type_id": 1]],
                ["Sequence": ["id": "B", "type_id": 1]], ["SpecialToken": ["id": "<|eos|>", "type_id": 1]],
            ],
            "special_tokens": [
                "<|bos|>": ["id": "<|bos|>", "ids": [bos], "tokens": ["<|bos|>"]],
                "<|eos|>": ["id": "<|eos|>", "ids": [eos], "tokens": ["<|eos|>"]],
            ],
        ]
        #expect(try ExportFixtures.canonical(processor) == ExportFixtures.canonical(expected))
        let tokenizerWithoutIDs = try ByteLevelBPETokenizer(tokens: ["a"], merges: [], preTokenizer: .gpt2)
        #expect(tokenizerWithoutIDs.bosToken == nil && tokenizerWithoutIDs.eosToken == nil)
    }

    @Test func llama3PreTokenizerIsASplitBeforeByteLevel() throws {
        let data = try ExportFixtures.ggufTokenizer(.llama3WithBOS).tokenizerJSON()
        let expected: [String: Any] = [
            "type": "Sequence",
            "pretokenizers": [
                [
                    "type": "Split", "pattern": ["Regex": PreTokenizer.SplitPattern.llama3.regex],
                    "behavior": "Isolated", "invert": false,
                ],
                ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false],
            ],
        ]
        #expect(
            try ExportFixtures.canonical(ExportFixtures.field("pre_tokenizer", of: data))
                == ExportFixtures.canonical(expected))
        let model = try #require(try ExportFixtures.field("model", of: data) as? [String: Any])
        #expect(model["ignore_merges"] as? Bool == true)
    }

    /// A tokenizer read from `tokenizer.json` (Hugging Face rules: the last repeated merge wins) with an unknown token,
    /// `fuse_unk`, strip flags, a normalized added token and a template survives the round trip too.
    @Test func tokenizerJSONTokenizerRoundTrips() throws {
        var builder = TokenizerJSONBuilder(
            merges: ExportFixtures.merges, added: [("<s>", true), ("</s>", true), ("<mask>", true), ("xyz!", false)])
        var vocab = (builder.root["model"] as! [String: Any])["vocab"] as! [String: Any]
        let lead = String(ByteLevelAlphabet.scalar(for: 0xF0))
        let second = String(ByteLevelAlphabet.scalar(for: 0x9F))
        vocab["<unk>"] = vocab[lead]
        vocab["filler"] = vocab[second]
        vocab[lead] = nil
        vocab[second] = nil
        builder.set("model.vocab", vocab)
        builder.set("model.unk_token", "<unk>")
        builder.set("model.fuse_unk", true)
        var added = builder.root["added_tokens"] as! [[String: Any]]
        added[2]["lstrip"] = true
        added[2]["rstrip"] = true
        added[3]["normalized"] = true
        builder.set("added_tokens", added)
        let start = added[0]["id"] as! Int
        builder.set(
            "post_processor",
            [
                "type": "TemplateProcessing",
                "single": [
                    ["SpecialToken": ["id": "<s>", "type_id": 0]], ["Sequence": ["id": "A", "type_id": 0]],
                    ["SpecialToken": ["id": "</s>", "type_id": 0]],
                ],
                "pair": [] as [Any],
                "special_tokens": [
                    "<s>": ["id": "<s>", "ids": [start], "tokens": ["<s>"]],
                    "</s>": ["id": "</s>", "ids": [start + 1], "tokens": ["</s>"]],
                ],
            ] as [String: Any])
        let original = try ByteLevelBPETokenizer(tokenizerJSON: builder.data, bosToken: "<s>", eosToken: "</s>")
        #expect(original.encode("abc", addSpecialTokens: false) == Fixtures.ids(["a", "bc"], in: original))
        let (data, reloaded) = try ExportFixtures.roundTrip(original)
        let texts =
            ExportFixtures.trickyStrings + ["x <mask>  y", "xyz!<mask>xyz", "🍕🍕 x"]
            + ExportFixtures.randomTexts(count: 200, seed: 7, anyScalar: true)
        try ExportFixtures.expectSameBehaviour(original, reloaded, texts: texts)
        #expect(try reloaded.tokenizerJSON() == data)
    }

    @Test func aTokenStringAtTwoIdsIsNotExportable() throws {
        // "x" is the alphabet token of byte 0x78 (id 120) and again id 256.
        let tokenizer = try ByteLevelBPETokenizer(
            tokens: Fixtures.tinyTokens(merges: []) + ["x"], merges: [], preTokenizer: .gpt2)
        #expect(
            throws: TokenizerError.notExportable(
                component: "model.vocab", reason: "token 'x' has ids 120 and 256; a vocab maps each string to one id")
        ) { try tokenizer.tokenizerJSON() }
    }

    @Test func anAddedTokenSpelledOtherwiseInTheVocabularyIsNotExportable() throws {
        var builder = TokenizerJSONBuilder(merges: [], added: [("<a>", true)])
        var vocab = (builder.root["model"] as! [String: Any])["vocab"] as! [String: Any]
        vocab["<b>"] = vocab.removeValue(forKey: "<a>")
        builder.set("model.vocab", vocab)
        let tokenizer = try builder.build()
        #expect(
            throws: TokenizerError.notExportable(
                component: "added_tokens", reason: "token 256 is matched as '<a>' but spelled '<b>' in the vocabulary")
        ) { try tokenizer.tokenizerJSON() }
    }

    @Test func aPrefixSpaceBeforeOtherStepsIsNotExportable() throws {
        let tokenizer = try ByteLevelBPETokenizer(
            tokens: Fixtures.tinyTokens(merges: []), merges: [],
            preTokenizer: PreTokenizer(steps: [.addPrefixSpace, .digits(individualDigits: true)]))
        #expect(
            throws: TokenizerError.notExportable(
                component: "pre_tokenizer",
                reason: "step 1 of 2 adds a prefix space before other steps; only the final ByteLevel step can")
        ) { try tokenizer.tokenizerJSON() }
        let message = TokenizerError.notExportable(component: "pre_tokenizer", reason: "why").description
        #expect(message == "cannot write tokenizer.json: pre_tokenizer: why")
    }
}

/// SmolLM2's GGUF tokenizer written as `tokenizer.json` and read back: the ids of the GGUF path, which equal Hugging
/// Face's with SmolLM2's own pre-tokenizer (`ids_smollm_digits` in the fixture), on the hard strings, the chats and
/// the whole of wiki.test.raw.
@Suite(
    "SmolLM2 GGUF tokenizer through tokenizer.json",
    .enabled(if: Fixtures.hasSmolLM2GGUF, "needs SmolLM2-135M-Instruct.Q4_1.gguf: run scripts/fetch-models.sh"))
struct SmolLM2ExportTests {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    struct Exported {
        var original: ByteLevelBPETokenizer
        var data: Data
        var reloaded: ByteLevelBPETokenizer
    }

    /// The GGUF tokenizer, its document and the tokenizer read back from it, made once.
    static let exported: Result<Exported, Failure> = {
        do {
            let original = try Fixtures.smolLM2FromGGUF()
            let (data, reloaded) = try ExportFixtures.roundTrip(original)
            return .success(Exported(original: original, data: data, reloaded: reloaded))
        } catch {
            return .failure(Failure(description: "SmolLM2's tokenizer does not round-trip: \(error)"))
        }
    }()

    @Test func layoutMatchesSmolLM2sOwnFile() throws {
        let exported = try Self.exported.get()
        let (original, data, reloaded) = (exported.original, exported.data, exported.reloaded)
        #expect(
            try ExportFixtures.canonical(ExportFixtures.field("pre_tokenizer", of: data))
                == ExportFixtures.canonical(TokenizerExportTests.smolLM2PreTokenizer))
        #expect(try ExportFixtures.field("post_processor", of: data) is NSNull)
        let added = try #require(try ExportFixtures.field("added_tokens", of: data) as? [[String: Any]])
        #expect(added.map { $0["id"] as? Int } == (0..<17).map { $0 })
        #expect(added.allSatisfy { $0["special"] as? Bool == true })
        #expect(original.bosToken == "<|im_start|>" && original.eosToken == "<|im_end|>")
        #expect(reloaded.vocabularySize == 49152 && reloaded.mergeCount == 48900 && reloaded.preTokenizer == .smolLM)
        let texts =
            Fixtures.reference.hardStrings.map(\.text) + Fixtures.reference.chats.map(\.text)
            + ExportFixtures.randomTexts(count: 300, seed: 2, anyScalar: true)
        try ExportFixtures.expectSameBehaviour(original, reloaded, texts: texts)
    }

    @Test func hardStringsAndChatsMatchHuggingFace() throws {
        let reloaded = try Self.exported.get().reloaded
        for hard in Fixtures.reference.hardStrings {
            #expect(reloaded.encode(hard.text) == hard.idsSmolLMDigits, "\(hard.text.debugDescription)")
        }
        for chat in Fixtures.reference.chats { #expect(reloaded.encode(chat.text) == chat.ids) }
    }

    @Test(.enabled(if: Fixtures.hasWikiText, "needs ../shared/data/wikitext-2/wiki.test.raw"))
    func wikiTextMatchesHuggingFace() throws {
        let reloaded = try Self.exported.get().reloaded
        try WikiCheck.run(
            reloaded, expected: Fixtures.reference.wiki.universalNewlinesSmolLMDigits, universalNewlines: true)
    }

    /// The vocabulary and merges equal those of the `tokenizer.json` that transformers builds from the same GGUF.
    @Test(
        .enabled(
            if: Fixtures.hasSmolLM2Tokenizer,
            "needs ~/.cache/quanta/models/smollm2-tokenizer.json: run scripts/reference/tokenizer_reference.py"))
    func vocabularyAndMergesMatchTransformers() throws {
        let data = try Self.exported.get().data
        let model = try #require(try ExportFixtures.field("model", of: data) as? [String: Any])
        let reference = try #require(
            try ExportFixtures.field("model", of: Data(contentsOf: Fixtures.smolLM2TokenizerJSON)) as? [String: Any])
        let vocabulary = try #require(model["vocab"] as? [String: Int])
        #expect(vocabulary.count == 49152 && vocabulary == reference["vocab"] as? [String: Int])
        let merges = try #require(model["merges"] as? [[String]])
        #expect(merges.count == 48900 && merges == reference["merges"] as? [[String]])
    }
}
