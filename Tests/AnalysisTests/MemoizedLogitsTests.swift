import Analysis
import Foundation
import Inference
import TensorCore
import Testing

/// A model that counts its forward passes.
final class CountingModel: CausalLanguageModel, @unchecked Sendable {
    let vocabularySize = 4
    private let lock = NSLock()
    private(set) var calls = 0

    func logits(for tokens: [Int]) throws(ModelError) -> Tensor {
        lock.withLock { calls += 1 }
        return Tensor(shape: [tokens.count, 4], scalars: tokens.flatMap { t in (0..<4).map { Float(($0 + t) % 4) } })
    }
}

@Suite struct MemoizedLogitsTests {
    @Test func aSequenceIsComputedOnceAndServedUnchanged() throws {
        let counting = CountingModel()
        let memo = MemoizedLogits(counting, capacity: 2)
        let first = try memo.logits(for: [1, 2, 3])
        #expect(try memo.logits(for: [1, 2, 3]).scalars == first.scalars)
        #expect(counting.calls == 1)
        #expect(memo.hits == 1)
        #expect(try memo.logits(for: [3, 2]).scalars == (try counting.logits(for: [3, 2])).scalars)
    }

    @Test func beyondCapacityTheOldestIsComputedAgain() throws {
        let counting = CountingModel()
        let memo = MemoizedLogits(counting, capacity: 2)
        for tokens in [[0], [1], [2], [1], [0]] { _ = try memo.logits(for: tokens) }
        // [0] was dropped when [2] came in; [1] stayed.
        #expect(counting.calls == 4)
        #expect(memo.hits == 1)
    }

    @Test func anEvaluationAgainstTheMemoEqualsOneAgainstTheModel() throws {
        let reference = FixedLogits(vocabularySize: 3) { i in [0, Float(i % 3), 1] }
        let model = FixedLogits(vocabularySize: 3) { _ in [1, 0, 0] }
        let evaluation = PerplexityEvaluation(configuration: try .init(sequenceLength: 4, windowCount: 2))
        let tokens = [0, 1, 2, 0, 1, 2, 2, 1]
        let memo = MemoizedLogits(reference)
        let direct = try evaluation.evaluate(model, tokens: tokens, reference: reference)
        for _ in 0..<2 {
            let memoized = try evaluation.evaluate(model, tokens: tokens, reference: memo)
            #expect(memoized.klDivergence == direct.klDivergence)
            #expect(memoized.referencePerplexity == direct.referencePerplexity)
        }
        #expect(memo.hits == 2)
    }
}
