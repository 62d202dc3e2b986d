import Foundation
import Testing
import Tokenization

@Suite("Construction from tokenizer.json")
struct TokenizerJSONTests {
    @Test func loadsTheSameTokenizerAsTheArrays() throws {
        let merges = ["Ġ t", "h e", "Ġt he", "a b"]
        let fromJSON = try TokenizerJSONBuilder(merges: merges).build()
        let fromPairs = try TokenizerJSONBuilder(merges: merges, mergesAsPairs: true).build()
        let fromArrays = try Fixtures.tinyTokenizer(merges: merges)
        for text in ["the the ab", "  x\n\ny", "🍕 the", ""] {
            #expect(fromJSON.encode(text) == fromArrays.encode(text))
            #expect(fromPairs.encode(text) == fromArrays.encode(text))
        }
    }

    @Test func smolLMStylePreTokenizerSequenceIsRead() throws {
        var builder = TokenizerJSONBuilder(merges: [])
        builder.set(
            "pre_tokenizer",
            [
                "type": "Sequence",
                "pretokenizers": [
                    ["type": "Digits", "individual_digits": true],
                    ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true],
                ],
            ])
        #expect(try builder.build().preTokenizer == .smolLM)
    }

    @Test func llama3StylePreTokenizerAndTemplateAreRead() throws {
        var builder = TokenizerJSONBuilder(merges: [], added: [("<|begin_of_text|>", true)])
        builder.set(
            "pre_tokenizer",
            [
                "type": "Sequence",
                "pretokenizers": [
                    [
                        "type": "Split", "pattern": ["Regex": PreTokenizer.SplitPattern.llama3.regex],
                        "behavior": "Isolated",
                        "invert": false,
                    ],
                    ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false],
                ],
            ])
        builder.set(
            "post_processor",
            [
                "type": "Sequence",
                "processors": [
                    ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true],
                    [
                        "type": "TemplateProcessing",
                        "single": [
                            ["SpecialToken": ["id": "<|begin_of_text|>", "type_id": 0]],
                            ["Sequence": ["id": "A", "type_id": 0]],
                        ],
                        "pair": [] as [Any],
                        "special_tokens": [
                            "<|begin_of_text|>": [
                                "id": "<|begin_of_text|>", "ids": [256], "tokens": ["<|begin_of_text|>"],
                            ]
                        ],
                    ] as [String: Any],
                ],
            ])
        builder.set("model.ignore_merges", true)
        let tokenizer = try builder.build()
        #expect(tokenizer.preTokenizer == .llama3)
        #expect(tokenizer.ignoresMerges)
        #expect(tokenizer.prefixTokenIDs == [256] && tokenizer.suffixTokenIDs == [])
        #expect(tokenizer.encode("a") == [256, try #require(tokenizer.id(for: "a"))])
    }

    @Test func unknownTokenReplacesMissingBytesAndCanBeFused() throws {
        // Bytes F0 and 9F (the start of 🍕 = F0 9F 8D 95) get no token; <unk> and a filler take their ids.
        var builder = TokenizerJSONBuilder(merges: [])
        var vocab = (builder.root["model"] as! [String: Any])["vocab"] as! [String: Any]
        let lead = String(ByteLevelAlphabet.scalar(for: 0xF0))
        let second = String(ByteLevelAlphabet.scalar(for: 0x9F))
        let unknownID = vocab[lead] as! Int
        vocab["<unk>"] = unknownID
        vocab["filler"] = vocab[second]
        vocab[lead] = nil
        vocab[second] = nil
        builder.set("model.vocab", vocab)
        builder.set("model.unk_token", "<unk>")
        let tokenizer = try builder.build()
        #expect(tokenizer.unknownTokenID == unknownID)
        #expect(tokenizer.bytesWithoutToken == [0x9F, 0xF0])
        let tail = Fixtures.ids(
            [String(ByteLevelAlphabet.scalar(for: 0x8D)), String(ByteLevelAlphabet.scalar(for: 0x95))], in: tokenizer)
        #expect(tokenizer.encode("🍕") == [unknownID, unknownID] + tail)
        builder.set("model.fuse_unk", true)
        #expect(try builder.build().encode("🍕") == [unknownID] + tail)
    }

    @Test func malformedDocumentsAreErrorsNamingTheKeyPath() throws {
        func error(_ edit: (inout TokenizerJSONBuilder) -> Void) -> TokenizerError? {
            var builder = TokenizerJSONBuilder(merges: ["a b"])
            edit(&builder)
            do {
                _ = try builder.build()
                return nil
            } catch {
                return error
            }
        }
        #expect(error { $0.root["model"] = nil } == .malformedJSON(path: "model", reason: "missing"))
        #expect(
            error { $0.set("model.type", 3) }
                == .malformedJSON(path: "model.type", reason: "expected a string, found a number"))
        #expect(
            error { $0.set("model.vocab", [1, 2]) }
                == .malformedJSON(path: "model.vocab", reason: "expected an object of token -> id"))
        #expect(
            error { $0.set("model.vocab", ["a": "x"]) }
                == .malformedJSON(path: "model.vocab.a", reason: "expected an integer, found a string"))
        #expect(
            error { $0.set("model.vocab", ["a": 0, "b": 2]) }
                == .invalidVocabulary("no token has id 1 (ids must be dense)"))
        #expect(error { $0.set("model.vocab", ["a": 0, "b": 0]) } != nil)
        #expect(
            error { $0.set("model.merges", ["a b c"]) }
                == .invalidMerge(index: 0, merge: "a b c", reason: "expected two tokens separated by one space"))
        #expect(
            error { $0.set("model.merges", ["a b", ["a"]]) }
                == .malformedJSON(path: "model.merges[1]", reason: "expected a pair of strings"))
        #expect(
            error { $0.set("model.merges", ["x y"]) }
                == .invalidMerge(index: 0, merge: "x y", reason: "'xy' is not in the vocabulary"))
        #expect(
            error { $0.set("model.unk_token", "<nope>") }
                == .malformedJSON(path: "model.unk_token", reason: "'<nope>' is not in model.vocab"))
        #expect(
            error { $0.set("added_tokens", [["content": "<x>"]]) }
                == .malformedJSON(path: "added_tokens[0].id", reason: "missing"))
        #expect(error { $0.root["decoder"] = nil } == .malformedJSON(path: "decoder", reason: "missing"))
    }

    /// serde_json (and so tokenizers) keeps the last of a repeated key; ids are integers, never `1.0` or `1e0`.
    @Test func repeatedKeysKeepTheLastValueAndIdsMustBeIntegers() throws {
        let text = String(decoding: TokenizerJSONBuilder(merges: ["a b"]).data, as: UTF8.self)
        #expect(text.hasPrefix("{") && text.hasSuffix("}"))
        let body = text.dropFirst().dropLast()
        let bogusFirst = Data(("{\"decoder\": 5, " + body + "}").utf8)
        #expect(try ByteLevelBPETokenizer(tokenizerJSON: bogusFirst).encode("ab") == TokenizerJSONBuilder(merges: ["a b"]).build().encode("ab"))
        let bogusLast = Data(("{" + body + ", \"decoder\": 5}").utf8)
        #expect(throws: TokenizerError.malformedJSON(path: "decoder", reason: "expected an object, found a number")) {
            try ByteLevelBPETokenizer(tokenizerJSON: bogusLast)
        }
        for (number, found) in [("1.0", "the number 1.0"), ("1e0", "the number 1e0"), ("9223372036854775808", "the number 9223372036854775808")] {
            let edited = Data(text.replacing(/"a":\d+/, with: "\"a\":\(number)").utf8)
            #expect(edited != TokenizerJSONBuilder(merges: ["a b"]).data)
            #expect(throws: TokenizerError.malformedJSON(path: "model.vocab.a", reason: "expected an integer, found \(found)")) {
                try ByteLevelBPETokenizer(tokenizerJSON: edited)
            }
        }
    }

    @Test func invalidJSONIsAnError() {
        for text in ["", "{", "[1, 2]", "{\"model\": }"] {
            do {
                _ = try ByteLevelBPETokenizer(tokenizerJSON: Data(text.utf8))
                Issue.record("accepted \(text.debugDescription)")
            } catch {
                switch error {
                case .malformedJSON(path: "", _): break
                default: Issue.record("\(text.debugDescription): \(error)")
                }
            }
        }
    }

    @Test func unsupportedComponentsAreErrorsNamingThem() throws {
        func error(_ edit: (inout TokenizerJSONBuilder) -> Void) -> TokenizerError? {
            var builder = TokenizerJSONBuilder(merges: ["a b"])
            edit(&builder)
            do {
                _ = try builder.build()
                return nil
            } catch {
                return error
            }
        }
        #expect(error { $0.set("model.type", "WordPiece") } == .unsupportedModel("WordPiece"))
        #expect(error { $0.set("model.type", "Unigram") } == .unsupportedModel("Unigram"))
        #expect(
            error { $0.set("pre_tokenizer", ["type": "Metaspace", "replacement": "▁"]) }
                == .unsupportedPreTokenizer("Metaspace"))
        #expect(error { $0.set("pre_tokenizer", ["type": "Whitespace"]) } == .unsupportedPreTokenizer("Whitespace"))
        #expect(
            error { $0.set("pre_tokenizer", NSNull()) }
                == .unsupportedPreTokenizer("none (byte-level BPE needs a ByteLevel pre-tokenizer)"))
        #expect(
            error {
                $0.set(
                    "pre_tokenizer",
                    ["type": "Split", "pattern": ["Regex": "\\d+"], "behavior": "Isolated", "invert": false])
            } == .unsupportedPreTokenizer("Split with regex \\d+"))
        #expect(
            error {
                $0.set(
                    "pre_tokenizer",
                    [
                        "type": "Sequence",
                        "pretokenizers": [
                            ["type": "ByteLevel", "add_prefix_space": false, "use_regex": true],
                            ["type": "Digits", "individual_digits": true],
                        ],
                    ])
            } == .unsupportedPreTokenizer("a pipeline that does not end in exactly one ByteLevel step"))
        #expect(
            error { $0.set("normalizer", ["type": "NFC"]) }
                == .unsupportedFeature(component: "normalizer", detail: "NFC"))
        #expect(
            error { $0.set("decoder", ["type": "WordPiece"]) }
                == .unsupportedFeature(component: "decoder", detail: "WordPiece (expected ByteLevel)"))
        #expect(
            error { $0.set("post_processor", ["type": "RobertaProcessing"]) }
                == .unsupportedFeature(component: "post_processor", detail: "RobertaProcessing"))
        #expect(
            error { $0.set("model.byte_fallback", true) }
                == .unsupportedFeature(
                    component: "model.byte_fallback", detail: "true (SentencePiece-style <0xXX> tokens)"))
        #expect(
            error { $0.set("model.dropout", 0.1) }
                == .unsupportedFeature(component: "model.dropout", detail: "0.1 (BPE dropout is random)"))
        #expect(
            error { $0.set("model.continuing_subword_prefix", "##") }
                == .unsupportedFeature(
                    component: "model.continuing_subword_prefix", detail: "'##' (byte-level BPE uses none)"))
        #expect(
            error {
                $0.set("added_tokens", [["id": 0, "content": "<x>", "single_word": true, "special": true]])
            } == .unsupportedFeature(component: "added_tokens[0].single_word", detail: "true for '<x>'"))
        // An empty normalizer Sequence is no normalizer.
        #expect(error { $0.set("normalizer", ["type": "Sequence", "normalizers": [] as [Any]]) } == nil)
    }
}
