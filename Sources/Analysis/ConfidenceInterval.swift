import Foundation

/// A two-sided confidence interval for a proportion, both ends in [0, 1].
public struct ConfidenceInterval: Codable, Sendable, Equatable {
    public var lower: Double
    public var upper: Double
    /// Coverage the interval was built for (0.95 for 95%).
    public var level: Double

    public init(lower: Double, upper: Double, level: Double) {
        self.lower = lower
        self.upper = upper
        self.level = level
    }

    /// The standard normal quantile for a two-sided 95% interval, Φ⁻¹(0.975).
    public static let z95 = 1.959963984540054

    /// Wilson's score interval (Wilson 1927; Brown, Cai & DasGupta 2001, eq. 4) for `successes` out of `trials` at 95%:
    /// center (p̂ + z²/2n) / (1 + z²/n), half-width z / (1 + z²/n) · √(p̂(1 − p̂)/n + z²/4n²).
    ///
    /// Chosen over the normal (Wald) interval p̂ ± z·√(p̂(1 − p̂)/n), which collapses to a point at 0% or 100% and
    /// undercovers on the few hundred items a task file holds; the Wilson interval stays inside [0, 1] and is never empty.
    /// - Precondition: 0 ≤ successes ≤ trials and trials ≥ 1.
    public static func wilson(successes: Int, trials: Int) -> ConfidenceInterval {
        precondition(trials >= 1 && (0...trials).contains(successes))
        let z = z95, n = Double(trials), p = Double(successes) / n
        let denominator = 1 + z * z / n
        let center = (p + z * z / (2 * n)) / denominator
        let halfWidth = z / denominator * (p * (1 - p) / n + z * z / (4 * n * n)).squareRoot()
        return ConfidenceInterval(lower: max(0, center - halfWidth), upper: min(1, center + halfWidth), level: 0.95)
    }
}
