import Foundation
import Testing
import Tokenization

@Suite("Construction from GGUF arrays")
struct GGUFArraysTests {
    let tokens = Fixtures.tinyTokens(merges: ["a b"])

    @Test func unknownPreTokenizerIsAnErrorNamingIt() {
        #expect(throws: TokenizerError.unsupportedPreTokenizer("qwen2")) {
            try ByteLevelBPETokenizer(
                tokens: tokens, merges: ["a b"], tokenTypes: [], bosTokenID: nil, eosTokenID: nil, addBOS: false,
                ggufPreTokenizer: "qwen2")
        }
    }

    @Test func tokenTypeCountMustMatch() {
        #expect(throws: TokenizerError.countMismatch(what: "tokenizer.ggml.token_type", expected: 257, found: 3)) {
            try ByteLevelBPETokenizer(tokens: tokens, merges: [], tokenTypes: [1, 1, 1], preTokenizer: .gpt2)
        }
    }

    @Test func tokenTypeMustBeKnown() {
        var types = [Int32](repeating: 1, count: tokens.count)
        types[5] = 9
        #expect(throws: TokenizerError.invalidTokenType(index: 5, type: 9)) {
            try ByteLevelBPETokenizer(tokens: tokens, merges: [], tokenTypes: types, preTokenizer: .gpt2)
        }
    }

    @Test func mergeWithoutASpaceIsAnError() {
        #expect(
            throws: TokenizerError.invalidMerge(
                index: 1, merge: "ab", reason: "expected two tokens separated by a space")
        ) {
            try ByteLevelBPETokenizer(tokens: tokens, merges: ["a b", "ab"], preTokenizer: .gpt2)
        }
    }

    @Test func mergeOutsideTheVocabularyIsAnError() {
        #expect(throws: TokenizerError.invalidMerge(index: 0, merge: "b c", reason: "'bc' is not in the vocabulary")) {
            try ByteLevelBPETokenizer(tokens: tokens, merges: ["b c"], preTokenizer: .gpt2)
        }
        #expect(throws: TokenizerError.invalidMerge(index: 0, merge: "a zz", reason: "'zz' is not in the vocabulary")) {
            try ByteLevelBPETokenizer(tokens: tokens, merges: ["a zz"], preTokenizer: .gpt2)
        }
    }

    @Test func specialIDsMustBeInRange() {
        #expect(
            throws: TokenizerError.tokenIDOutOfRange(role: "tokenizer.ggml.bos_token_id", id: 257, vocabularySize: 257)
        ) {
            try ByteLevelBPETokenizer(tokens: tokens, merges: [], bosTokenID: 257, preTokenizer: .gpt2)
        }
        #expect(
            throws: TokenizerError.tokenIDOutOfRange(role: "tokenizer.ggml.eos_token_id", id: -1, vocabularySize: 257)
        ) {
            try ByteLevelBPETokenizer(tokens: tokens, merges: [], eosTokenID: -1, preTokenizer: .gpt2)
        }
    }

    @Test func addBOSNeedsABOSToken() {
        #expect(throws: TokenizerError.invalidVocabulary("add_bos_token is true but there is no BOS token id")) {
            try ByteLevelBPETokenizer(tokens: tokens, merges: [], addBOS: true, preTokenizer: .gpt2)
        }
    }

    @Test func emptyVocabularyIsAnError() {
        #expect(throws: TokenizerError.invalidVocabulary("the vocabulary has no tokens")) {
            try ByteLevelBPETokenizer(tokens: [], merges: [], preTokenizer: .gpt2)
        }
    }

    @Test func duplicateMergeKeepsTheFirstRankLikeLlamaCpp() throws {
        let tokens = Fixtures.tinyTokens(merges: ["a b", "b c"])
        let tokenizer = try ByteLevelBPETokenizer(tokens: tokens, merges: ["a b", "b c", "a b"], preTokenizer: .gpt2)
        #expect(tokenizer.mergeCount == 2)
        #expect(tokenizer.encode("abc") == Fixtures.ids(["ab", "c"], in: tokenizer))
    }

    @Test func everyErrorDescriptionSaysWhatAndWhere() {
        let errors: [TokenizerError] = [
            .unsupportedPreTokenizer("qwen2"), .unsupportedModel("WordPiece"),
            .unsupportedFeature(component: "normalizer", detail: "NFC"),
            .malformedJSON(path: "model.vocab", reason: "missing"), .invalidMerge(index: 3, merge: "ab", reason: "x"),
            .countMismatch(what: "tokenizer.ggml.token_type", expected: 2, found: 1),
            .invalidTokenType(index: 1, type: 9), .tokenIDOutOfRange(role: "BOS", id: 9, vocabularySize: 4),
            .invalidVocabulary("gap"), .unsupportedChatTemplate("{% x %}"),
        ]
        let expectedFragments = [
            "'qwen2'", "'WordPiece'", "normalizer: NFC", "model.vocab: missing", "merge #3 'ab'",
            "expected 2 entries, found 1", "token #1 has token type 9",
            "BOS token id 9 is outside the vocabulary 0..<4",
            "gap", "'{% x %}...'",
        ]
        for (error, fragment) in zip(errors, expectedFragments) {
            #expect(error.description.contains(fragment), "\(error.description)")
        }
    }
}
