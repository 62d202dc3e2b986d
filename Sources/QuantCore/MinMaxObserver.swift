/// Range = [min, max] over every calibration value, per tensor or per channel (PyTorch's `MinMaxObserver` and
/// `PerChannelMinMaxObserver`; AMD Quark's `PerTensorMinMaxObserver`).
public struct MinMaxObserver: Observer {
    /// Ranges kept: 1 per tensor, or the channel count.
    public let channelCount: Int
    /// Running minimum per channel; +∞ before the first value.
    public private(set) var minimum: [Float]
    /// Running maximum per channel; −∞ before the first value.
    public private(set) var maximum: [Float]
    /// Values accumulated so far.
    public private(set) var valueCount = 0
    private var batchCount = 0

    /// An observer keeping `channels` ranges (1 = per tensor).
    public init(channels: Int = 1) {
        precondition(channels >= 1, "channel count must be >= 1")
        channelCount = channels
        minimum = [Float](repeating: .infinity, count: channels)
        maximum = [Float](repeating: -.infinity, count: channels)
    }

    /// Adds one batch; with several channels it is read as rows `[rows, channelCount]`.
    public mutating func accumulate(_ values: UnsafeBufferPointer<Float>) throws(QuantError) {
        try accumulate(values, channelStride: 1)
    }

    /// Adds one batch in which element `i` belongs to channel `(i / channelStride) % channelCount`: the layout of a
    /// row-major tensor along an axis whose trailing dimensions multiply to `channelStride` (a weight `[out, in]`
    /// per output channel has `channelStride = in`).
    /// - Throws: `QuantError.nonFiniteInput` (observer unchanged); `.shapeMismatch` when `values.count` is not a
    ///   multiple of `channelCount · channelStride`.
    public mutating func accumulate(_ values: UnsafeBufferPointer<Float>, channelStride: Int) throws(QuantError) {
        defer { batchCount += 1 }
        guard
            let (low, high) = try Self.extrema(
                of: values, channelCount: channelCount, channelStride: channelStride, batch: batchCount,
                observer: "MinMaxObserver")
        else { return }
        for c in 0..<channelCount {
            minimum[c] = min(minimum[c], low[c])
            maximum[c] = max(maximum[c], high[c])
        }
        valueCount += values.count
    }

    /// Per-channel extrema of one batch (nil when empty), checked for NaN and infinity.
    static func extrema(
        of values: UnsafeBufferPointer<Float>, channelCount: Int, channelStride: Int, batch: Int, observer: String
    ) throws(QuantError) -> (minimum: [Float], maximum: [Float])? {
        precondition(channelStride >= 1)
        guard let base = values.baseAddress, !values.isEmpty else { return nil }
        if channelCount == 1 {
            guard let e = try BatchStatistics.extrema(values, batch: batch, observer: observer) else { return nil }
            return ([e.minimum], [e.maximum])
        }
        let block = channelCount * channelStride
        guard values.count % block == 0 else {
            throw .shapeMismatch(
                "\(observer): batch \(batch) has \(values.count) values, not a multiple of \(channelCount) "
                    + "channels × stride \(channelStride)")
        }
        let rows = values.count / block
        let layout = ParameterLayout.blocked(outer: rows, channels: channelCount, inner: channelStride)
        var low = [Float](repeating: .infinity, count: channelCount)
        var high = [Float](repeating: -.infinity, count: channelCount)
        var exponent: UInt32 = 0
        if layout.isElementwise {
            low.withUnsafeMutableBufferPointer { low in
                high.withUnsafeMutableBufferPointer { high in
                    for o in 0..<rows {
                        exponent = max(
                            exponent,
                            AffineKernels.accumulateColumnExtrema(
                                base + o * block, count: channelCount, low.baseAddress!, high.baseAddress!))
                    }
                }
            }
        } else {
            layout.forEachRun { start, count, slot in
                // Seeded with the run's first value so the kernel's default 0 does not leak into the extrema.
                let e = AffineKernels.extrema(base + start, count: count, seed: base[start])
                exponent = max(exponent, e.exponent)
                low[slot] = min(low[slot], e.minimum)
                high[slot] = max(high[slot], e.maximum)
            }
        }
        if exponent == AffineKernels.nonFiniteExponent {
            throw BatchStatistics.nonFinite(values, batch: batch, observer: observer)
        }
        return (low, high)
    }

    /// The calibrated range (see the type's comment).
    /// - Throws: `QuantError.noCalibrationData` when no value was accumulated.
    public func range() throws(QuantError) -> (minimum: Float, maximum: Float) {
        let (low, high) = try channelRanges()
        return (low.min() ?? 0, high.max() ?? 0)
    }

    /// One range per channel.
    /// - Throws: `QuantError.noCalibrationData` when no value was accumulated.
    public func channelRanges() throws(QuantError) -> (minimum: [Float], maximum: [Float]) {
        guard valueCount > 0 else { throw .noCalibrationData("MinMaxObserver saw no values in \(batchCount) batches") }
        return (minimum, maximum)
    }
}
