import Foundation
import Testing
import Tokenization

/// Inputs the `tokenizer-json` fuzz target (Fuzz/) found crashing, kept as regression tests.
@Suite struct TokenizerJSONFuzzRegressionTests {
    /// Fixtures/fuzz/tokenizer-json-huge-id.json: the tiny seed tokenizer with one vocabulary id mutated to
    /// 223555555555. The loader reserved an array of max id + 1 strings (28 TB; AddressSanitizer's
    /// allocation-size-too-big) before checking that ids are dense.
    @Test func hugeVocabularyIDIsAnError() throws {
        let url = try #require(
            Bundle.module.url(forResource: "tokenizer-json-huge-id", withExtension: "json", subdirectory: "Fixtures/fuzz"))
        let data = try Data(contentsOf: url)
        #expect(throws: TokenizerError.invalidVocabulary("no token has id 223 (ids must be dense)")) {
            _ = try ByteLevelBPETokenizer(tokenizerJSON: data)
        }
    }

    /// Int.max as an id: `max + 1` overflowed (a trap) before the density check.
    @Test func largestIntegerIDIsAnError() throws {
        var builder = TokenizerJSONBuilder(merges: [])
        builder.set("model.vocab", ["a": 0, "b": Int.max])
        #expect(throws: TokenizerError.invalidVocabulary("no token has id 1 (ids must be dense)")) {
            _ = try builder.build()
        }
    }
}
