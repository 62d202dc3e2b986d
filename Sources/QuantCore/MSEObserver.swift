/// Clipping range searched to minimize the mean squared quantization error of the calibration data under the
/// scheme's own grid (AMD Quark's MSE observer; llm-compressor's shrink search).
///
/// Candidates shrink the observed range uniformly: `[α · min, α · max]` for α = k/200, k = 1…200 (both ends, so a
/// symmetric scheme's threshold and an asymmetric scheme's interval shrink alike). Each candidate's parameters come
/// from `QuantParameters.compute`'s formulas (scale type and zero point included) and its error is evaluated on a
/// `CalibrationHistogram` of the signed values, so memory is bounded and no value list is kept. Within a bin the
/// values are taken as uniformly spread and the expected squared error is integrated in closed form: the rounding
/// sawtooth (mean s²/12 per full step for round-to-nearest, s²/3 for floor) inside the code range and the quadratic
/// clipping error outside it. This stays accurate when a bin is wider than a quantization step (large outliers squeeze
/// the bulk into few bins), where evaluating bin centers would not. Among equal errors the widest range wins.
public struct MSEObserver: Observer {
    private let grid: AffineGrid
    private var statistics: HistogramStatistics
    private var histogram: CalibrationHistogram { statistics.histogram }
    private var minimum: Float { statistics.minimum }
    private var maximum: Float { statistics.maximum }

    /// Number of shrink factors α tried.
    public static let candidateCount = 200

    /// - Parameters: `scheme`: an integer scheme whose grid is evaluated; `bins`: minimum histogram resolution over
    ///   `[0, max|x|]` on each side of zero.
    /// - Throws: `QuantError.invalidConfiguration` for non-integer schemes.
    public init(scheme: QuantScheme, bins: Int = 2048) throws(QuantError) {
        guard scheme.dataType.isInteger else {
            throw .invalidConfiguration(
                field: "observer", reason: "MSE calibration needs an integer grid, not \(scheme.dataType.rawValue)")
        }
        grid = try AffineGrid(scheme: scheme)
        statistics = HistogramStatistics(bins: bins)
    }

    /// Adds one batch (any layout: the statistics are per tensor).
    /// - Throws: `QuantError.nonFiniteInput` naming the batch and element; the statistics are left unchanged.
    public mutating func accumulate(_ values: UnsafeBufferPointer<Float>) throws(QuantError) {
        try statistics.accumulate(values, observer: "MSEObserver")
    }

    /// The calibrated range (see the type's comment).
    /// - Throws: `QuantError.noCalibrationData` when no value was accumulated.
    public func range() throws(QuantError) -> (minimum: Float, maximum: Float) {
        try statistics.requireData(observer: "MSEObserver")
        var best = (error: Double.infinity, minimum: minimum, maximum: maximum)
        for k in stride(from: Self.candidateCount, through: 1, by: -1) {
            let alpha = Float(k) / Float(Self.candidateCount)
            let low = alpha * minimum
            let high = alpha * maximum
            let error = expectedSquaredError(minimum: low, maximum: high)
            if error < best.error { best = (error, low, high) }
        }
        return (best.minimum, best.maximum)
    }

    /// Mean squared error of fake-quantizing the histogrammed data with the parameters of `[minimum, maximum]`.
    func expectedSquaredError(minimum: Float, maximum: Float) -> Double {
        let (scale, zeroPoint) = grid.parameters(minimum: minimum, maximum: maximum)
        let s = Double(scale)
        let inverse = Double(1 / scale)
        let offset = Double(zeroPoint)
        let qmin = Double(grid.qmin)
        let qmax = Double(grid.qmax)
        let delta = grid.rounding == .floor ? 0.0 : 0.5
        let width = Double(histogram.binWidth)
        var total = 0.0
        for (bin, count) in histogram.counts.enumerated() where count > 0 {
            let a = histogram.lowerEdge(ofBin: bin)
            // Code units t = x / s + zeroPoint, where codes are the integers.
            let ta = a * inverse + offset
            let tb = (a + width) * inverse + offset
            total += count * Self.meanSquaredCodeError(from: ta, to: tb, qmin: qmin, qmax: qmax, delta: delta)
        }
        return total * s * s / histogram.total
    }

    /// Mean of e(t)² for t uniform on [ta, tb], e being the code-unit error of round-then-clamp to [qmin, qmax]
    /// (`delta` = 0.5 for round to nearest, 0 for floor).
    static func meanSquaredCodeError(from ta: Double, to tb: Double, qmin: Double, qmax: Double, delta: Double)
        -> Double
    {
        guard tb > ta else {
            let e = ta < qmin ? ta - qmin : ta > qmax ? ta - qmax : sawtooth(ta, delta: delta)
            return e * e
        }
        var integral = 0.0
        if ta < qmin {
            let end = min(tb, qmin)
            integral += (cube(end - qmin) - cube(ta - qmin)) / 3
        }
        if tb > qmax {
            let start = max(ta, qmax)
            integral += (cube(tb - qmax) - cube(start - qmax)) / 3
        }
        let lo = max(ta, qmin)
        let hi = min(tb, qmax)
        if hi > lo { integral += sawtoothIntegral(hi, delta: delta) - sawtoothIntegral(lo, delta: delta) }
        return integral / (tb - ta)
    }

    /// e(t) = t − floor(t + δ) − … the in-range rounding error: frac(t + δ) − δ.
    static func sawtooth(_ t: Double, delta: Double) -> Double {
        let shifted = t + delta
        return shifted - shifted.rounded(.down) - delta
    }

    /// ∫₀ᵗ e(τ)² dτ for the in-range error: whole periods contribute H(1) each, plus the partial one.
    static func sawtoothIntegral(_ t: Double, delta: Double) -> Double {
        let shifted = t + delta
        let periods = shifted.rounded(.down)
        let fraction = shifted - periods
        return periods * partial(1, delta: delta) + partial(fraction, delta: delta)
    }

    /// H(f) = ∫₀ᶠ (v − δ)² dv.
    static func partial(_ f: Double, delta: Double) -> Double { (cube(f - delta) + cube(delta)) / 3 }

    static func cube(_ x: Double) -> Double { x * x * x }
}
