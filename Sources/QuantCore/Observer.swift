import TensorCore

/// Collects calibration statistics batch by batch and turns them into a clipping range for static scales.
///
/// Collect and solve are separate: `accumulate` only updates bounded statistics (extrema, a histogram), and
/// `range()` does the search. Per-channel observers (MinMax and moving-average MinMax with `channels`) read each
/// batch as rows `[rows, channelCount]`, the channel being the last index (an activation's features); use their
/// `accumulate(_:channelStride:)` for another axis.
public protocol Observer: Sendable {
    /// Independent ranges kept: 1 per tensor, or the channel count.
    var channelCount: Int { get }
    /// Adds one batch; an empty batch changes nothing.
    /// - Throws: `QuantError.nonFiniteInput` naming the batch and element (the statistics are left unchanged; the
    ///   batch still counts toward the batch index in messages);
    ///   `.shapeMismatch` when a per-channel batch is not a whole number of rows.
    mutating func accumulate(_ values: UnsafeBufferPointer<Float>) throws(QuantError)
    /// The calibrated range over everything seen (the union of the channel ranges for per-channel observers).
    /// - Throws: `QuantError.noCalibrationData` when no value was accumulated.
    func range() throws(QuantError) -> (minimum: Float, maximum: Float)
    /// One range per channel (a single entry for per-tensor observers).
    /// - Throws: `QuantError.noCalibrationData` when no value was accumulated.
    func channelRanges() throws(QuantError) -> (minimum: [Float], maximum: [Float])
}

extension Observer {
    /// Per-tensor observers have one channel.
    public var channelCount: Int { 1 }

    /// The single range of a per-tensor observer, as arrays.
    public func channelRanges() throws(QuantError) -> (minimum: [Float], maximum: [Float]) {
        let (minimum, maximum) = try range()
        return ([minimum], [maximum])
    }

    /// Adds a tensor's elements (row-major) as one batch.
    public mutating func accumulate(_ tensor: Tensor) throws(QuantError) {
        try tensor.scalars.withUnsafeBufferPointer { values throws(QuantError) in try accumulate(values) }
    }

    /// Static parameters from the calibrated range(s): per tensor, or per channel along `scheme.axis` for a
    /// per-channel observer (the parameters' shape is `[1, …, channelCount]`, which fits any tensor with
    /// `channelCount` entries along that axis).
    /// - Parameters: `formatMaximum` for fp8 schemes, as in `QuantParameters.compute`.
    /// - Throws: `QuantError.invalidConfiguration` when the scheme's granularity does not match the observer's
    ///   (per tensor needs one channel, per channel several); errors of `range()` and `QuantParameters.compute`.
    public func parameters(scheme: QuantScheme, formatMaximum: Float? = nil) throws(QuantError) -> QuantParameters {
        switch scheme.granularity {
        case .perTensor:
            let (minimum, maximum) = try range()
            return try QuantParameters.compute(
                minimum: [minimum], maximum: [maximum], scheme: scheme, formatMaximum: formatMaximum)
        case .perChannel:
            let (minimum, maximum) = try channelRanges()
            let shape = [Int](repeating: 1, count: scheme.axis) + [minimum.count]
            return try QuantParameters.compute(
                minimum: minimum, maximum: maximum, scheme: scheme, shape: shape, formatMaximum: formatMaximum)
        default:
            throw .invalidConfiguration(
                field: "granularity",
                reason: "observers give static per_tensor or per_channel ranges; \(scheme.granularity.rawValue) "
                    + "parameters come from the data (AffineQuantizer.parameters)")
        }
    }
}

/// The observer `scheme.observer` names, set up for `scheme`'s code grid (MSE and histogram searches evaluate the
/// error of that grid).
/// - Parameters: `channels`: keep one range per channel (last index of each batch); MinMax and moving average only.
/// - Throws: `QuantError.invalidConfiguration` for per-channel statistics with another observer, a channel count
///   below 1, or a grid-searching observer (MSE, histogram, hybrid) on a non-integer format.
public func makeObserver(for scheme: QuantScheme, channels: Int? = nil) throws(QuantError) -> any Observer {
    let kind = scheme.observer
    try kind.validate()
    if let channels {
        guard channels >= 1 else {
            throw .invalidConfiguration(field: "observer.channels", reason: "must be >= 1, got \(channels)")
        }
        switch kind {
        case .minMax: return MinMaxObserver(channels: channels)
        case .movingAverageMinMax(let momentum):
            return MovingAverageMinMaxObserver(momentum: momentum, channels: channels)
        default:
            throw .invalidConfiguration(
                field: "observer",
                reason: "per-channel ranges are kept by minmax and moving_average only, not \(kind)")
        }
    }
    switch kind {
    case .minMax: return MinMaxObserver()
    case .movingAverageMinMax(let momentum): return MovingAverageMinMaxObserver(momentum: momentum)
    case .percentile(let p): return PercentileObserver(percentile: p)
    case .mse: return try MSEObserver(scheme: scheme)
    case .histogramKL(let bins): return try HistogramObserver(scheme: scheme, bins: bins)
    case .hybrid(let bins): return try HybridObserver(scheme: scheme, bins: bins)
    }
}
