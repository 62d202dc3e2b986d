import Foundation

/// The accuracy a tuned model must keep, stated against the float model on the same evaluation:
/// `ppl<=+1%` (perplexity at most 1% above float), `ppl<=+0.3` (at most 0.3 above), `kl<=0.02` (mean KL(float ‖ q)
/// per token, nats), `acc>=-2%` (multiple-choice task accuracy at most 2 points below float's).
public struct TuneBudget: Sendable, Equatable, Codable, CustomStringConvertible {
    public enum Bound: Sendable, Equatable, Codable {
        /// Perplexity over float's, as a fraction (0.01 for +1%).
        case relativePerplexityIncrease(Double)
        /// Perplexity minus float's.
        case perplexityIncrease(Double)
        /// Mean KL(P_float ‖ P_quantized) per token.
        case klDivergence(Double)
        /// Task accuracy below float's, as a fraction (0.02 for 2 points).
        case accuracyDrop(Double)
    }

    public var bound: Bound
    public let text: String

    /// Parses a budget expression.
    /// - Throws: `PipelineError.invalidArgument` naming the expression and what is wrong (unknown metric, missing or
    ///   non-numeric bound, a negative or non-finite bound).
    public init(_ expression: String) throws {
        text = expression
        let compact = expression.filter { !$0.isWhitespace }.lowercased()
        func fail(_ reason: String) -> PipelineError {
            .invalidArgument(
                "budget '\(expression)': \(reason); write ppl<=+1% (perplexity increase over float), ppl<=+0.3, kl<=0.02, or acc>=-2% (task accuracy drop)")
        }
        func number(_ text: Substring) throws -> Double {
            guard let number = Double(text), number.isFinite else { throw fail("'\(text)' is not a number") }
            guard number >= 0 else { throw fail("the bound must not be negative") }
            return number
        }
        if let range = compact.range(of: ">=") {
            let metric = compact[..<range.lowerBound], value = compact[range.upperBound...]
            guard metric == "acc" else {
                throw fail(metric.isEmpty ? "no metric before >=" : ["ppl", "kl"].contains(String(metric)) ? "\(metric) is bounded from above (<=)" : "unknown metric '\(metric)'")
            }
            guard value.hasPrefix("-"), value.hasSuffix("%") else {
                throw fail("an accuracy budget is a drop below float in points, written acc>=-2%")
            }
            bound = .accuracyDrop(try number(value.dropFirst().dropLast()) / 100)
            return
        }
        guard let operatorRange = compact.range(of: "<=") else {
            throw fail("expected METRIC<=BOUND")
        }
        let metric = String(compact[..<operatorRange.lowerBound]), value = String(compact[operatorRange.upperBound...])
        switch metric {
        case "ppl":
            guard value.hasPrefix("+") else { throw fail("a perplexity budget is an increase over float, written with +") }
            let body = value.dropFirst()
            bound = body.hasSuffix("%")
                ? .relativePerplexityIncrease(try number(body.dropLast()) / 100) : .perplexityIncrease(try number(body))
        case "kl":
            bound = .klDivergence(try number(Substring(value)))
        case "acc":
            throw fail("task accuracy is bounded from below: acc>=-2%")
        case "":
            throw fail("no metric before <=")
        default:
            throw fail("unknown metric '\(metric)'")
        }
    }

    /// Whether the budget is on task accuracy (the search then scores task items instead of text windows).
    public var isTaskAccuracy: Bool { if case .accuracyDrop = bound { true } else { false } }

    public var description: String { text }

    /// The metric this budget bounds, from an evaluation against float.
    public func value(of metrics: TuneMetrics) -> Double {
        switch bound {
        case .relativePerplexityIncrease: (metrics.perplexity ?? .infinity) / (metrics.floatPerplexity ?? 1) - 1
        case .perplexityIncrease: (metrics.perplexity ?? .infinity) - (metrics.floatPerplexity ?? 0)
        case .klDivergence: metrics.klDivergence ?? .infinity
        case .accuracyDrop: (metrics.floatAccuracy ?? 1) - (metrics.accuracy ?? 0)
        }
    }

    public var limit: Double {
        switch bound {
        case .relativePerplexityIncrease(let x), .perplexityIncrease(let x), .klDivergence(let x), .accuracyDrop(let x): x
        }
    }

    public func isMet(by metrics: TuneMetrics) -> Bool { value(of: metrics) <= limit }

    /// The metric value as the budget states it (`+0.84%`, `+0.25`, `0.0123`).
    public func format(_ value: Double) -> String {
        switch bound {
        case .relativePerplexityIncrease: String(format: "%+.2f%%", value * 100)
        case .perplexityIncrease: String(format: "%+.3f", value)
        case .klDivergence: String(format: "%.4f", value)
        case .accuracyDrop: String(format: "%+.2f pts", -value * 100)
        }
    }
}

/// One evaluation of a candidate against the float model on the same windows (perplexity, KL, top-1) or the same
/// task items (accuracy): the fields of the other kind are nil.
public struct TuneMetrics: Sendable, Equatable, Codable {
    public var perplexity: Double?
    public var floatPerplexity: Double?
    public var klDivergence: Double?
    public var top1Agreement: Double?
    public var accuracy: Double?
    public var floatAccuracy: Double?
    /// Windows or items scored.
    public var windows: Int

    enum CodingKeys: String, CodingKey {
        case perplexity, windows, accuracy
        case floatPerplexity = "float_perplexity"
        case klDivergence = "kl_divergence"
        case top1Agreement = "top1_agreement"
        case floatAccuracy = "float_accuracy"
    }
}
