/// What a multiple-choice evaluation measured: accuracy by summed log-likelihood (lm-evaluation-harness's `acc`) and
/// by log-likelihood per character of the choice (`acc_norm`), each with a 95% Wilson score interval, and every item's
/// chosen index so that two models can be compared item by item.
public struct TaskAccuracy: Encodable, Sendable, Equatable {
    /// Items scored.
    public var itemCount: Int
    /// Items whose highest summed log-likelihood is the answer.
    public var correct: Int
    /// correct / itemCount.
    public var accuracy: Double
    /// 95% Wilson score interval of `accuracy`.
    public var interval: ConfidenceInterval
    /// Items whose highest log-likelihood per character is the answer.
    public var normalizedCorrect: Int
    /// normalizedCorrect / itemCount.
    public var normalizedAccuracy: Double
    /// 95% Wilson score interval of `normalizedAccuracy`.
    public var normalizedInterval: ConfidenceInterval
    /// Items whose context was cut from the left to fit the model's context window.
    public var truncatedItems: Int
    /// Per item, the index of the choice with the highest summed log-likelihood (the first on ties).
    public var chosen: [Int]
    /// Per item, the index of the choice with the highest log-likelihood per character (the first on ties).
    public var chosenNormalized: [Int]
    /// Per item and choice, the summed log-likelihood of the choice's tokens in nats (not encoded: large).
    public var logLikelihoods: [[Double]]

    enum CodingKeys: String, CodingKey {
        case accuracy, interval, correct, chosen
        case itemCount = "items"
        case normalizedCorrect = "correct_norm"
        case normalizedAccuracy = "accuracy_norm"
        case normalizedInterval = "interval_norm"
        case truncatedItems = "truncated_items"
        case chosenNormalized = "chosen_norm"
    }

    /// Accuracy from each item's answer, its choices' summed log-likelihoods and their lengths in characters.
    /// - Precondition: the arrays agree in count, every item has a choice, and every length is positive.
    public init(answers: [Int], logLikelihoods: [[Double]], choiceLengths: [[Int]], truncatedItems: Int) {
        precondition(!answers.isEmpty && answers.count == logLikelihoods.count && answers.count == choiceLengths.count)
        chosen = logLikelihoods.map(Self.argmax)
        chosenNormalized = zip(logLikelihoods, choiceLengths).map { scores, lengths in
            precondition(scores.count == lengths.count && lengths.allSatisfy { $0 > 0 })
            return Self.argmax(zip(scores, lengths).map { $0 / Double($1) })
        }
        itemCount = answers.count
        correct = zip(chosen, answers).count { $0 == $1 }
        normalizedCorrect = zip(chosenNormalized, answers).count { $0 == $1 }
        accuracy = Double(correct) / Double(itemCount)
        normalizedAccuracy = Double(normalizedCorrect) / Double(itemCount)
        interval = .wilson(successes: correct, trials: itemCount)
        normalizedInterval = .wilson(successes: normalizedCorrect, trials: itemCount)
        self.truncatedItems = truncatedItems
        self.logLikelihoods = logLikelihoods
    }

    /// Share of items where this evaluation and `other` (of the same items) chose the same answer by summed
    /// log-likelihood.
    /// - Precondition: both scored the same number of items.
    public func agreement(with other: TaskAccuracy) -> Double {
        precondition(other.itemCount == itemCount)
        return Double(zip(chosen, other.chosen).count { $0 == $1 }) / Double(itemCount)
    }

    /// Index of the largest value, the first on ties (as numpy's argmax).
    static func argmax(_ values: [Double]) -> Int {
        precondition(!values.isEmpty)
        var best = 0
        for i in values.indices.dropFirst() where values[i] > values[best] { best = i }
        return best
    }
}
