import Foundation

/// Entropy (KL-divergence) calibration as in TensorRT (Migacz, "8-bit Inference with TensorRT", GTC 2017; the same
/// loop as MXNet/TVM's `_get_optimal_threshold`): over a histogram of |x|, pick the threshold T whose clipped-and-
/// quantized distribution is closest in KL divergence to the clipped reference; range `[max(min, −T), min(max, T)]`.
///
/// For each candidate `i` (bins `[0, i)`, T = `i · binWidth`): the reference P is the first `i` bins with the mass
/// beyond them added to bin `i − 1`; the candidate Q merges the first `i` bins (without that outlier mass) into
/// `levels` groups (the last takes the remainder) and spreads each group's mass evenly over its bins that are non-zero
/// in P; both are smoothed (zeros get ε = 10⁻⁴, taken from the non-zeros, as MXNet does) and normalized, and
/// `KL(P‖Q)` is computed. `levels` is the number of codes on one side of zero: `(qmax − qmin + 1) / 2` (128 for int8,
/// 8 for int4); asymmetric schemes on one-sided data (all values ≥ 0 or ≤ 0) use every code (256 for uint8).
///
/// Departures: the histogram's range is a power of two that doubles (with exact bin merging) when a batch exceeds it,
/// instead of TensorRT's fixed `[0, max]` from a first pass or PyTorch's approximate re-binning; `bins` is therefore
/// the minimum resolution over `[0, max|x|]` (up to twice that), and at most 2048 candidates are evaluated (a stride
/// over `i` for larger histograms) to bound the search at O(2048 · bins). PyTorch's own `HistogramObserver` minimizes
/// the L2 quantization error instead of KL.
public struct HistogramObserver: Observer {
    /// Quantization levels on one side of zero in the KL search (see above).
    public let levels: Int
    private let usesAllCodesWhenOneSided: Bool
    private let allCodes: Int
    private var statistics: HistogramStatistics
    private var histogram: CalibrationHistogram { statistics.histogram }
    private var minimum: Float { statistics.minimum }
    private var maximum: Float { statistics.maximum }

    /// Smoothing mass given to zero bins (MXNet `_smooth_distribution`).
    static let smoothing = 0.0001
    /// Largest number of thresholds tried.
    static let maximumCandidates = 2048

    /// - Parameters: `scheme`: an integer scheme (sets the number of levels); `bins`: minimum histogram resolution over
    ///   `[0, max|x|]` (TensorRT: 2048).
    /// - Throws: `QuantError.invalidConfiguration` for non-integer schemes.
    public init(scheme: QuantScheme, bins: Int = 2048) throws(QuantError) {
        guard scheme.dataType.isInteger else {
            throw .invalidConfiguration(
                field: "observer",
                reason: "histogram KL calibration needs an integer grid, not \(scheme.dataType.rawValue)")
        }
        guard bins >= 1 else {
            throw .invalidConfiguration(field: "observer.bins", reason: "must be >= 1, got \(bins)")
        }
        let (qmin, qmax) = scheme.integerRange
        levels = max(1, (qmax - qmin + 1) / 2)
        allCodes = qmax - qmin + 1
        usesAllCodesWhenOneSided = !scheme.isSymmetric
        statistics = HistogramStatistics(bins: bins)
    }

    /// Adds one batch (any layout: the statistics are per tensor).
    /// - Throws: `QuantError.nonFiniteInput` naming the batch and element; the statistics are left unchanged.
    public mutating func accumulate(_ values: UnsafeBufferPointer<Float>) throws(QuantError) {
        try statistics.accumulate(values, observer: "HistogramObserver")
    }

    /// The threshold T on |x| minimizing KL(P‖Q).
    /// - Throws: `QuantError.noCalibrationData` when no value was accumulated.
    public func threshold() throws(QuantError) -> Float {
        try statistics.requireData(observer: "HistogramObserver")
        let magnitude = max(-minimum, maximum)
        let oneSided = minimum >= 0 || maximum <= 0
        let quantizedLevels = usesAllCodesWhenOneSided && oneSided ? allCodes : levels
        let counts = histogram.magnitudeCounts()
        guard let lastNonZero = counts.lastIndex(where: { $0 > 0 }) else { return magnitude }
        let used = lastNonZero + 1
        guard used > quantizedLevels else { return magnitude }  // every bin gets its own level: nothing to clip
        let step = max(1, (used - quantizedLevels + Self.maximumCandidates - 1) / Self.maximumCandidates)
        // Mass beyond each candidate: suffix sums.
        var beyond = [Double](repeating: 0, count: used + 1)
        for i in stride(from: used - 1, through: 0, by: -1) { beyond[i] = beyond[i + 1] + counts[i] }
        var best = (divergence: Double.infinity, bins: used)
        var p = [Double](repeating: 0, count: used)
        var q = [Double](repeating: 0, count: used)
        var candidate = quantizedLevels
        while true {
            let divergence = Self.divergence(
                counts, bins: candidate, outliers: beyond[candidate], levels: quantizedLevels, p: &p, q: &q)
            // Ties keep the wider threshold (less clipping).
            if divergence <= best.divergence { best = (divergence, candidate) }
            if candidate == used { break }
            candidate = min(candidate + step, used)
        }
        return min(Float(best.bins) * histogram.binWidth, magnitude)
    }

    /// KL(P‖Q) for the candidate keeping the first `bins` bins (see the type's comment).
    static func divergence(
        _ counts: [Double], bins: Int, outliers: Double, levels: Int, p: inout [Double], q: inout [Double]
    ) -> Double {
        for k in 0..<bins { p[k] = counts[k] }
        p[bins - 1] += outliers
        let merged = bins / levels
        for j in 0..<levels {
            let start = j * merged
            let end = j == levels - 1 ? bins : start + merged
            var mass = 0.0
            var nonZero = 0
            for k in start..<end {
                mass += counts[k]
                if p[k] != 0 { nonZero += 1 }
            }
            let share = nonZero > 0 ? mass / Double(nonZero) : 0
            for k in start..<end { q[k] = p[k] != 0 ? share : 0 }
        }
        smooth(&p, count: bins)
        smooth(&q, count: bins)
        var sumP = 0.0
        var sumQ = 0.0
        for k in 0..<bins {
            sumP += p[k]
            sumQ += q[k]
        }
        guard sumP > 0, sumQ > 0 else { return .infinity }
        var divergence = 0.0
        for k in 0..<bins where p[k] > 0 {
            let pk = p[k] / sumP
            let qk = q[k] / sumQ
            guard qk > 0 else { return .infinity }
            divergence += pk * log(pk / qk)
        }
        return divergence
    }

    /// Gives each zero entry ε, taken evenly from the non-zero ones (MXNet `_smooth_distribution`).
    static func smooth(_ values: inout [Double], count: Int) {
        var zeros = 0
        var smallest = Double.infinity
        for k in 0..<count {
            if values[k] == 0 { zeros += 1 } else { smallest = min(smallest, values[k]) }
        }
        let nonZeros = count - zeros
        guard zeros > 0, nonZeros > 0 else { return }
        let taken = smoothing * Double(zeros) / Double(nonZeros)
        // MXNet raises here; leaving the vector unsmoothed lets an empty Q bin make the candidate infinitely bad.
        guard taken < smallest else { return }
        for k in 0..<count { values[k] += values[k] == 0 ? smoothing : -taken }
    }

    /// The calibrated range (see the type's comment).
    /// - Throws: `QuantError.noCalibrationData` when no value was accumulated.
    public func range() throws(QuantError) -> (minimum: Float, maximum: Float) {
        let t = try threshold()
        return (max(minimum, -t), min(maximum, t))
    }
}
