/// Range clipped to the `percentile`-th percentile of |x| (AMD Quark's `PerTensorPercentileObserver`, NVIDIA
/// ModelOpt's percentile calibrator): `T = percentile(|x|, p)`, range `[max(min, −T), min(max, T)]`.
///
/// Memory is bounded: values go into a `CalibrationHistogram` (power-of-two range, exact merging as it grows), not a
/// list. The percentile is read off the cumulative histogram with linear interpolation inside the bin where the count
/// crosses `p/100 · n`, so it is within one bin width (`≤ 2 · max|x| / bins`) of the nearest-rank percentile.
/// `p = 100` returns the exact extrema.
public struct PercentileObserver: Observer {
    /// Percentile of |x| kept, in (50, 100].
    public let percentile: Float
    private var statistics: HistogramStatistics
    private var histogram: CalibrationHistogram { statistics.histogram }
    private var minimum: Float { statistics.minimum }
    private var maximum: Float { statistics.maximum }

    /// - Parameters: `percentile` in (50, 100]; `bins`: at least this many histogram bins over `[0, max|x|]`.
    public init(percentile: Float, bins: Int = 4096) {
        precondition(percentile > 50 && percentile <= 100, "percentile must be in (50, 100]")
        precondition(bins >= 1)
        self.percentile = percentile
        statistics = HistogramStatistics(bins: bins)
    }

    /// Adds one batch (any layout: the statistics are per tensor).
    /// - Throws: `QuantError.nonFiniteInput` naming the batch and element; the statistics are left unchanged.
    public mutating func accumulate(_ values: UnsafeBufferPointer<Float>) throws(QuantError) {
        try statistics.accumulate(values, observer: "PercentileObserver")
    }

    /// The threshold T on |x|.
    /// - Throws: `QuantError.noCalibrationData` when no value was accumulated.
    public func threshold() throws(QuantError) -> Float {
        try statistics.requireData(observer: "PercentileObserver")
        let magnitude = max(-minimum, maximum)
        if percentile >= 100 { return magnitude }
        let counts = histogram.magnitudeCounts()
        let target = Double(percentile) / 100 * histogram.total
        let width = Double(histogram.binWidth)
        var cumulative = 0.0
        for (bin, count) in counts.enumerated() where count > 0 {
            if cumulative + count >= target {
                let fraction = (target - cumulative) / count
                return min(Float((Double(bin) + fraction) * width), magnitude)
            }
            cumulative += count
        }
        return magnitude
    }

    /// The calibrated range (see the type's comment).
    /// - Throws: `QuantError.noCalibrationData` when no value was accumulated.
    public func range() throws(QuantError) -> (minimum: Float, maximum: Float) {
        let t = try threshold()
        return (max(minimum, -t), min(maximum, t))
    }
}
