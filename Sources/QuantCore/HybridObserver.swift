/// MinMax or histogram calibration chosen per tensor from the data's spread, after msModelSlim's `act_method=3`
/// ("automatic mixed min-max/histogram", recommended there for LLMs).
///
/// How msModelSlim does it (`msmodelslim/pytorch/llm_ptq/llm_ptq_tools/quant_modules.py`, `init_act_and_observer`,
/// with the statistics from `layer_select.py`'s `StdMethod` hook and `quant_tools.py`'s
/// `enable_quantization_by_module`): during a first calibration pass it records per layer input the running min and
/// max and the *largest per-batch standard deviation*, then computes `range_param = max(|t_max|, |t_min|) / std`. If
/// `range_param <= 50` the layer gets a histogram observer (PyTorch's `HistogramObserver`), otherwise a MinMax
/// observer. So the histogram's clipping is used when the tail is moderate, and a layer whose maximum is more than 50
/// standard deviations out keeps its full range: in LLMs such extreme values are the few "massive activations" the
/// model depends on, and clipping them costs more than the coarser step. (The `ObserverKind.hybrid` summary, "MinMax
/// unless the range is dominated by outliers", reads the opposite way; this type follows msModelSlim's code.)
///
/// Here both statistics are kept in one pass (MinMax extrema and a `HistogramObserver`), so no second calibration pass
/// is needed; `range()` applies the rule. Departures: the histogram method is KL (`HistogramObserver`) rather than
/// PyTorch's L2 search, and each batch's standard deviation is taken about the batch mean (msModelSlim subtracts a
/// per-channel shift `max + min` of the batch first, which needs the channel layout).
public struct HybridObserver: Observer {
    /// `max|x| / std` above which MinMax is used (msModelSlim: 50).
    public static let rangeRatioThreshold: Float = 50
    private var histogram: HistogramObserver
    private var minimum: Float = .infinity
    private var maximum: Float = -.infinity
    /// Largest per-batch (sample) standard deviation seen.
    public private(set) var standardDeviation: Float = 0
    private var batchCount = 0
    private var valueCount = 0

    /// - Throws: `QuantError.invalidConfiguration` for non-integer schemes.
    public init(scheme: QuantScheme, bins: Int = 2048) throws(QuantError) {
        histogram = try HistogramObserver(scheme: scheme, bins: bins)
    }

    /// Adds one batch (any layout: the statistics are per tensor).
    /// - Throws: `QuantError.nonFiniteInput` naming the batch and element; the statistics are left unchanged.
    public mutating func accumulate(_ values: UnsafeBufferPointer<Float>) throws(QuantError) {
        defer { batchCount += 1 }
        guard let e = try BatchStatistics.extrema(values, batch: batchCount, observer: "HybridObserver") else { return }
        try histogram.accumulate(values)
        minimum = min(minimum, e.minimum)
        maximum = max(maximum, e.maximum)
        valueCount += values.count
        standardDeviation = max(standardDeviation, Self.sampleStandardDeviation(values))
    }

    /// `max|x| / std`: msModelSlim's `range_param` (infinite for constant data).
    /// - Throws: `QuantError.noCalibrationData` when no value was accumulated.
    public func rangeRatio() throws(QuantError) -> Float {
        guard valueCount > 0 else { throw .noCalibrationData("HybridObserver saw no values in \(batchCount) batches") }
        let magnitude = max(-minimum, maximum)
        return standardDeviation > 0 ? magnitude / standardDeviation : .infinity
    }

    /// True when the histogram search decides the range (`rangeRatio() <= 50`).
    public func usesHistogram() throws(QuantError) -> Bool { try rangeRatio() <= Self.rangeRatioThreshold }

    /// The calibrated range (see the type's comment).
    /// - Throws: `QuantError.noCalibrationData` when no value was accumulated.
    public func range() throws(QuantError) -> (minimum: Float, maximum: Float) {
        try usesHistogram() ? histogram.range() : (minimum, maximum)
    }

    /// Unbiased standard deviation of one batch (0 for fewer than two values), two passes in Double.
    static func sampleStandardDeviation(_ values: UnsafeBufferPointer<Float>) -> Float {
        guard values.count > 1 else { return 0 }
        var sum = 0.0
        for x in values { sum += Double(x) }
        let mean = sum / Double(values.count)
        var squares = 0.0
        for x in values {
            let d = Double(x) - mean
            squares += d * d
        }
        return Float((squares / Double(values.count - 1)).squareRoot())
    }
}
