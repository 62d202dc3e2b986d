/// Exponential moving average of each batch's min and max (PyTorch's `MovingAverageMinMaxObserver` and its
/// per-channel variant): the first batch sets the range, then `m ← m + momentum · (batchExtreme − m)`.
public struct MovingAverageMinMaxObserver: Observer {
    /// Weight of the newest batch, in (0, 1] (PyTorch's `averaging_constant`, default 0.01).
    public let momentum: Float
    /// Ranges kept: 1 per tensor, or the channel count.
    public let channelCount: Int
    /// Averaged minimum per channel; empty before the first batch.
    public private(set) var minimum: [Float] = []
    /// Averaged maximum per channel; empty before the first batch.
    public private(set) var maximum: [Float] = []
    /// Non-empty batches averaged so far.
    public private(set) var averagedBatchCount = 0
    private var batchCount = 0

    /// An observer averaging `channels` ranges (1 = per tensor).
    public init(momentum: Float = 0.01, channels: Int = 1) {
        precondition(momentum > 0 && momentum <= 1, "momentum must be in (0, 1]")
        precondition(channels >= 1, "channel count must be >= 1")
        self.momentum = momentum
        channelCount = channels
    }

    /// Adds one batch; with several channels it is read as rows `[rows, channelCount]`.
    public mutating func accumulate(_ values: UnsafeBufferPointer<Float>) throws(QuantError) {
        try accumulate(values, channelStride: 1)
    }

    /// Adds one batch laid out as for `MinMaxObserver.accumulate(_:channelStride:)`.
    public mutating func accumulate(_ values: UnsafeBufferPointer<Float>, channelStride: Int) throws(QuantError) {
        defer { batchCount += 1 }
        guard
            let (low, high) = try MinMaxObserver.extrema(
                of: values, channelCount: channelCount, channelStride: channelStride, batch: batchCount,
                observer: "MovingAverageMinMaxObserver")
        else { return }
        if averagedBatchCount == 0 {
            minimum = low
            maximum = high
        } else {
            for c in 0..<channelCount {
                minimum[c] += momentum * (low[c] - minimum[c])
                maximum[c] += momentum * (high[c] - maximum[c])
            }
        }
        averagedBatchCount += 1
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
        guard averagedBatchCount > 0 else {
            throw .noCalibrationData("MovingAverageMinMaxObserver saw no values in \(batchCount) batches")
        }
        return (minimum, maximum)
    }
}
