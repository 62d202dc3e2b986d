/// A histogram of calibration values over `[−limit, limit)` whose limit is a power of two that doubles as the data
/// grows, so merging is exact: after a doubling, each new bin is exactly the union of two old ones.
///
/// PyTorch's `HistogramObserver` instead re-bins onto a new `[min, max]` by spreading each old bin over the new ones
/// it overlaps (an approximation that smears mass); here no re-binning error is ever introduced, at the cost of up to
/// half the bins lying beyond the largest |x|. Callers ask for `resolution` bins over `[0, max|x|]` and get between
/// `resolution` and `2 · resolution` of them: the histogram keeps `4 · resolution` signed bins.
/// Counts are `Double` (exact to 2⁵³ values).
struct CalibrationHistogram: Sendable {
    /// Signed bins over `[−limit, limit)`; a multiple of 4.
    let binCount: Int
    /// Power of two strictly above every |x| added so far; 0 before the first batch.
    private(set) var limit: Float = 0
    private(set) var counts: [Double]
    private(set) var total: Double = 0

    init(resolution: Int) {
        precondition(resolution > 0)
        binCount = 4 * resolution
        counts = [Double](repeating: 0, count: 4 * resolution)
    }

    /// Width of one bin.
    var binWidth: Float { 2 * limit / Float(binCount) }

    /// Adds finite values whose largest magnitude is `magnitude` (the caller has computed it while checking them).
    mutating func add(_ values: UnsafeBufferPointer<Float>, magnitude: Float) {
        guard !values.isEmpty else { return }
        grow(toInclude: magnitude)
        let limit = self.limit
        let perUnit = Float(binCount) / (2 * limit)
        let last = binCount - 1
        counts.withUnsafeMutableBufferPointer { counts in
            for x in values {
                counts[min(Int((x + limit) * perUnit), last)] += 1
            }
        }
        total += Double(values.count)
    }

    /// Doubles the limit until it exceeds `magnitude`, merging bin pairs into the middle half each time.
    private mutating func grow(toInclude magnitude: Float) {
        // The smallest limit is the smallest normal float, so all-zero data still has a (center) bin.
        if limit == 0 { limit = Float.leastNormalMagnitude }
        var doublings = 0
        var target = limit
        while target <= magnitude {
            target *= 2
            doublings += 1
        }
        guard doublings > 0 else { return }
        // After log2(binCount) doublings all mass sits in the two center bins, where further doublings keep it.
        let steps = min(doublings, binCount.trailingZeroBitCount + 1)
        let quarter = binCount / 4
        for _ in 0..<steps {
            var merged = [Double](repeating: 0, count: binCount)
            for i in 0..<binCount { merged[quarter + i / 2] += counts[i] }
            counts = merged
        }
        limit = target
    }

    /// Counts of |x| over `[0, limit)` in `binCount / 2` bins of `binWidth`: the two halves folded together.
    func magnitudeCounts() -> [Double] {
        let half = binCount / 2
        return (0..<half).map { counts[half + $0] + counts[half - 1 - $0] }
    }

    /// Lower edge of signed bin `index`.
    func lowerEdge(ofBin index: Int) -> Double { Double(-limit) + Double(index) * Double(binWidth) }
}

/// Running checks shared by the observers: finiteness and extrema of one batch.
enum BatchStatistics {
    /// Minimum and maximum of `values` (nil when empty).
    /// - Throws: `QuantError.nonFiniteInput` naming the batch and element.
    static func extrema(
        _ values: UnsafeBufferPointer<Float>, batch: Int, observer: String
    ) throws(QuantError) -> (minimum: Float, maximum: Float)? {
        guard let base = values.baseAddress, !values.isEmpty else { return nil }
        let e = AffineKernels.extrema(base, count: values.count, seed: base[0])
        // A NaN first element would poison the seed, but it is caught here first.
        if e.exponent == AffineKernels.nonFiniteExponent {
            throw nonFinite(values, batch: batch, observer: observer)
        }
        return (e.minimum, e.maximum)
    }

    static func nonFinite(_ values: UnsafeBufferPointer<Float>, batch: Int, observer: String) -> QuantError {
        let index = values.firstIndex { !$0.isFinite } ?? 0
        return .nonFiniteInput("\(observer): batch \(batch), element \(index) is \(values[index])")
    }
}

/// What the histogram-based observers (percentile, MSE, histogram/KL) keep: the running extrema, the magnitude
/// histogram and the batch count for messages.
struct HistogramStatistics: Sendable {
    private(set) var histogram: CalibrationHistogram
    private(set) var minimum: Float = .infinity
    private(set) var maximum: Float = -.infinity
    private(set) var batchCount = 0

    init(bins: Int) { histogram = CalibrationHistogram(resolution: bins) }

    /// Adds one batch; a batch with NaN or infinity throws (naming `observer`, batch and element) and changes nothing.
    mutating func accumulate(_ values: UnsafeBufferPointer<Float>, observer: String) throws(QuantError) {
        defer { batchCount += 1 }
        guard let e = try BatchStatistics.extrema(values, batch: batchCount, observer: observer) else { return }
        minimum = min(minimum, e.minimum)
        maximum = max(maximum, e.maximum)
        histogram.add(values, magnitude: max(-e.minimum, e.maximum))
    }

    /// Throws `QuantError.noCalibrationData` when nothing was accumulated.
    func requireData(observer: String) throws(QuantError) {
        guard histogram.total > 0 else { throw .noCalibrationData("\(observer) saw no values in \(batchCount) batches") }
    }
}
