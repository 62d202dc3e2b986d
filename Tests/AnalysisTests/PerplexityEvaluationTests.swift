import Analysis
import Foundation
import Inference
import TensorCore
import Testing

/// A model with fixed logits, to check the metric formulas by hand.
struct FixedLogits: CausalLanguageModel {
    let vocabularySize: Int
    let row: @Sendable (Int) -> [Float]

    func logits(for tokens: [Int]) throws(ModelError) -> Tensor {
        Tensor(shape: [tokens.count, vocabularySize], scalars: tokens.indices.flatMap { row($0) })
    }
}

@Suite struct PerplexityEvaluationTests {
    @Test func uniformLogitsGivePerplexityEqualToTheVocabulary() throws {
        let model = FixedLogits(vocabularySize: 10) { _ in [Float](repeating: 3, count: 10) }
        let evaluation = PerplexityEvaluation(configuration: try .init(sequenceLength: 8, windowCount: nil))
        let result = try evaluation.evaluate(model, tokens: Array(0..<20).map { $0 % 10 })
        #expect(result.windows == 2)
        #expect(result.tokens == 14)
        #expect(abs(result.perplexity - 10) < 1e-5)
    }

    @Test func klTopOneAndRatioMatchHandComputedValues() throws {
        // Reference p = softmax([0, ln 3]) = (1/4, 3/4); model q = (1/2, 1/2) at every position.
        let reference = FixedLogits(vocabularySize: 2) { _ in [0, Float(log(3.0))] }
        let model = FixedLogits(vocabularySize: 2) { _ in [1, 1] }
        let evaluation = PerplexityEvaluation(configuration: try .init(sequenceLength: 4, windowCount: 1))
        let tokens = [0, 1, 1, 0]  // targets 1, 1, 0
        let result = try evaluation.evaluate(model, tokens: tokens, reference: reference)
        let expectedKL = 0.25 * log(0.25 / 0.5) + 0.75 * log(0.75 / 0.5)
        #expect(abs(result.klDivergence! - expectedKL) < 1e-6)
        #expect(result.top1Agreement == 0)  // q's argmax is 0 (first on ties), p's is 1
        #expect(abs(result.perplexity - 2) < 1e-5)
        let referenceNLL = (-log(0.75) * 2 - log(0.25)) / 3
        #expect(abs(result.referencePerplexity! - exp(referenceNLL)) < 1e-5)
        #expect(abs(result.perplexityRatio! - 2 / exp(referenceNLL)) < 1e-5)
    }

    @Test func emptyAndShortTextsAreErrors() throws {
        let evaluation = PerplexityEvaluation(configuration: try .init(sequenceLength: 8))
        #expect(throws: AnalysisError.emptyText) { try evaluation.windows(of: []) }
        #expect(throws: AnalysisError.textTooShort(tokenCount: 7, sequenceLength: 8)) { try evaluation.windows(of: Array(0..<7)) }
        #expect(throws: AnalysisError.invalidSetting("a window must hold at least 2 tokens, got 1")) {
            try PerplexityEvaluation.Configuration(sequenceLength: 1)
        }
    }
}
