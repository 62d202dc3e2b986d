import Foundation
import Inference
import TensorCore

/// Perplexity, and agreement with a reference model, over non-overlapping windows of one token stream (Quanta's
/// protocol P1 in REFERENCE.md: windows scored independently, every token after the first in a window predicted).
public struct PerplexityEvaluation: Sendable {
    /// Window settings.
    public struct Configuration: Codable, Sendable, Equatable {
        /// Tokens per window.
        public var sequenceLength = 512
        /// Windows scored, from the start of the text; nil scores every whole window.
        public var windowCount: Int? = 40

        public init(sequenceLength: Int = 512, windowCount: Int? = 40) throws(AnalysisError) {
            self.sequenceLength = sequenceLength
            self.windowCount = windowCount
            try validate()
        }

        public func validate() throws(AnalysisError) {
            guard sequenceLength >= 2 else { throw .invalidSetting("a window must hold at least 2 tokens, got \(sequenceLength)") }
            if let windowCount, windowCount < 1 { throw .invalidSetting("at least 1 window must be scored, got \(windowCount)") }
        }
    }

    /// What an evaluation measured.
    public struct Result: Codable, Sendable, Equatable {
        public var perplexity: Double
        public var meanNegativeLogLikelihood: Double
        /// Scored (predicted) tokens.
        public var tokens: Int
        public var windows: Int
        public var sequenceLength: Int
        /// KL(reference ‖ model), mean over scored tokens, in nats.
        public var klDivergence: Double?
        /// Share of scored tokens whose argmax agrees with the reference's.
        public var top1Agreement: Double?
        public var referencePerplexity: Double?
        /// model perplexity / reference perplexity.
        public var perplexityRatio: Double?

        enum CodingKeys: String, CodingKey {
            case perplexity, tokens, windows
            case meanNegativeLogLikelihood = "mean_nll"
            case sequenceLength = "seq_len"
            case klDivergence = "kl_divergence"
            case top1Agreement = "top1_agreement"
            case referencePerplexity = "reference_perplexity"
            case perplexityRatio = "perplexity_ratio"
        }
    }

    public let configuration: Configuration

    public init(configuration: Configuration) { self.configuration = configuration }

    /// Cuts `tokens` into the windows this configuration scores.
    /// - Throws: `AnalysisError.emptyText` or `.textTooShort`.
    public func windows(of tokens: [Int]) throws(AnalysisError) -> [ArraySlice<Int>] {
        guard !tokens.isEmpty else { throw .emptyText }
        let length = configuration.sequenceLength
        let available = tokens.count / length
        guard available >= 1 else { throw .textTooShort(tokenCount: tokens.count, sequenceLength: length) }
        let count = min(available, configuration.windowCount ?? available)
        return (0..<count).map { tokens[($0 * length)..<(($0 + 1) * length)] }
    }

    /// Scores `model` (and, when given, compares it with `reference`) on the windows of `tokens`.
    /// - Parameter progress: called after each window with (done, total).
    public func evaluate(
        _ model: some CausalLanguageModel, tokens: [Int], reference: (any CausalLanguageModel)? = nil,
        progress: (Int, Int) -> Void = { _, _ in }
    ) throws -> Result {
        if let reference, reference.vocabularySize != model.vocabularySize {
            throw AnalysisError.vocabularyMismatch(model: model.vocabularySize, reference: reference.vocabularySize)
        }
        let windows = try windows(of: tokens)
        var total = WindowScore()
        var referenceTotal = WindowScore()
        for (index, window) in windows.enumerated() {
            let ids = Array(window)
            let logits = try model.logits(for: ids)
            try AnalysisError.requireFinite(logits, place: "window \(index)'s logits")
            if let reference {
                let referenceLogits = try reference.logits(for: ids)
                try AnalysisError.requireFinite(referenceLogits, place: "window \(index)'s reference logits")
                total.add(LogitStatistics.score(logits: logits, targets: ids, reference: referenceLogits))
                referenceTotal.add(LogitStatistics.score(logits: referenceLogits, targets: ids, reference: nil))
            } else {
                total.add(LogitStatistics.score(logits: logits, targets: ids, reference: nil))
            }
            progress(index + 1, windows.count)
        }
        let meanNLL = total.negativeLogLikelihood / Double(total.count)
        var result = Result(
            perplexity: Foundation.exp(meanNLL), meanNegativeLogLikelihood: meanNLL, tokens: total.count,
            windows: windows.count, sequenceLength: configuration.sequenceLength)
        if reference != nil {
            let referencePerplexity = Foundation.exp(referenceTotal.negativeLogLikelihood / Double(referenceTotal.count))
            result.klDivergence = total.klDivergence / Double(total.count)
            result.top1Agreement = Double(total.agreements) / Double(total.count)
            result.referencePerplexity = referencePerplexity
            result.perplexityRatio = result.perplexity / referencePerplexity
        }
        return result
    }
}

/// Sums over the scored tokens of some windows.
struct WindowScore: Sendable {
    var negativeLogLikelihood = 0.0
    var klDivergence = 0.0
    var agreements = 0
    var count = 0

    mutating func add(_ other: WindowScore) {
        negativeLogLikelihood += other.negativeLogLikelihood
        klDivergence += other.klDivergence
        agreements += other.agreements
        count += other.count
    }
}
