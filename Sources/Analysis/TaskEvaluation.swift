import Foundation
import Inference
import Tokenization

/// Multiple-choice accuracy by log-likelihood, as lm-evaluation-harness's `multiple_choice` tasks score it: each
/// choice's score is the sum of log P(token | everything before it) over the choice's tokens, the prediction is the
/// highest score (`acc`) or the highest score per character of the choice (`acc_norm`).
///
/// `prepare` tokenizes once; `score` runs one model over prepared items, so a tuning loop can score many quantized
/// candidates against one parsed and tokenized item list. `run` does both.
public enum TaskEvaluation {
    /// One item as token ids: a prefix every choice shares (prefilled once) and, per choice, the tokens fed after it.
    public struct PreparedItem: Sendable, Equatable {
        /// Tokens every choice starts with: the context's tokens, up to where the first choice's tokenization departs.
        public var prefix: [Int]
        /// Per choice, the tokens after `prefix`; the last `scoredCounts[i]` of them are the choice's own tokens.
        public var continuations: [[Int]]
        /// Per choice, how many tokens at the end of its continuation are scored.
        public var scoredCounts: [Int]
        /// Per choice, its length in characters (Unicode scalars, as Python's `len`), for `acc_norm`.
        public var choiceLengths: [Int]
        /// Index of the correct choice.
        public var answer: Int
        /// Context tokens dropped from the left to fit the model's context window.
        public var truncatedTokens: Int

        /// An item as token ids (`prepare` makes them from text; tests and callers with their own ids build them).
        /// - Precondition: one continuation, scored count and length per choice; `prefix` and every continuation
        ///   non-empty; each scored count in 1...its continuation's count; `answer` a valid index.
        public init(
            prefix: [Int], continuations: [[Int]], scoredCounts: [Int], choiceLengths: [Int], answer: Int,
            truncatedTokens: Int
        ) {
            precondition(
                !prefix.isEmpty && continuations.count == scoredCounts.count
                    && continuations.count == choiceLengths.count)
            precondition(zip(continuations, scoredCounts).allSatisfy { (1...$0.count).contains($1) })
            precondition(continuations.indices.contains(answer))
            self.prefix = prefix
            self.continuations = continuations
            self.scoredCounts = scoredCounts
            self.choiceLengths = choiceLengths
            self.answer = answer
            self.truncatedTokens = truncatedTokens
        }
    }

    /// Scores `items` with `model`: `prepare` then `score`.
    /// - Throws: `AnalysisError.unscorableItem` (before any forward pass), `ModelError` from the model.
    public static func run(
        model: some ContinuationScoringModel, tokenizer: any TextTokenizer, items: [MultipleChoiceItem],
        progress: (Int, Int) -> Void = { _, _ in }
    ) throws -> TaskAccuracy {
        let prepared = try prepare(items, tokenizer: tokenizer, contextLength: model.contextLength)
        return try score(model, items: prepared, progress: progress)
    }

    /// Scores prepared items.
    /// - Parameter progress: called after each item with (done, total).
    /// - Throws: `ModelError` from the model.
    public static func score(
        _ model: some ContinuationScoringModel, items: [PreparedItem], progress: (Int, Int) -> Void = { _, _ in }
    ) throws -> TaskAccuracy {
        precondition(!items.isEmpty)
        var logLikelihoods: [[Double]] = []
        logLikelihoods.reserveCapacity(items.count)
        for (index, item) in items.enumerated() {
            let perToken = try model.continuationLogProbabilities(
                prefix: item.prefix, continuations: item.continuations)
            let sums = zip(perToken, item.scoredCounts).map { $0.suffix($1).reduce(0, +) }
            // log p is finite or -inf for finite logits; NaN means the model's activations went non-finite.
            if let choice = sums.firstIndex(where: { $0.isNaN }) {
                throw AnalysisError.nonFiniteLogits(place: "task item \(index), choice \(choice): the logits")
            }
            logLikelihoods.append(sums)
            progress(index + 1, items.count)
        }
        return TaskAccuracy(
            answers: items.map(\.answer), logLikelihoods: logLikelihoods, choiceLengths: items.map(\.choiceLengths),
            truncatedItems: items.count { $0.truncatedTokens > 0 })
    }
}
