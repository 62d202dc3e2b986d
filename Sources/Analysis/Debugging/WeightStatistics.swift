import TensorCore

/// What `LAYER.weight_stats.json` holds: the distribution of one weight `[outFeatures, inFeatures]` and the error of
/// its quantized (dequantized) form.
public struct WeightStatistics: Codable, Sendable, Equatable {
    /// An element is an outlier when it lies more than this many standard deviations from the mean.
    public static let outlierSigmas = 3.0

    public var layer: String
    /// `[outFeatures, inFeatures]`.
    public var shape: [Int]
    public var minimum: Double
    public var maximum: Double
    public var mean: Double
    public var standardDeviation: Double
    public var absMax: Double
    /// Pearson's kurtosis m4 / m2² (3 for a normal distribution; larger means heavier tails).
    public var kurtosis: Double
    /// Share of elements more than `outlierSigmas` standard deviations from the mean.
    public var outlierShare: Double
    /// Per output channel (row) minimum and maximum, `[outFeatures]` each.
    public var channelMinimums: [Float]
    public var channelMaximums: [Float]
    /// Quantization error of the dequantized weight against the float one.
    public var meanSquaredError: Double
    /// mean(|QDQ(W) − W| / (|W| + ε)), Quark's weight error.
    public var relativeError: Double
    public var sqnrDecibels: Double

    enum CodingKeys: String, CodingKey {
        case layer, shape, mean, kurtosis
        case minimum = "min", maximum = "max"
        case standardDeviation = "std"
        case absMax = "abs_max"
        case outlierShare = "outlier_share"
        case channelMinimums = "channel_min"
        case channelMaximums = "channel_max"
        case meanSquaredError = "quant_mse"
        case relativeError = "quant_relative_error"
        case sqnrDecibels = "quant_sqnr_db"
    }

    /// Measures `weight` and the error of `dequantized` (same shape) against it.
    public init(layer: String, weight: Tensor, dequantized: Tensor) {
        precondition(weight.rank == 2 && weight.shape == dequantized.shape)
        self.layer = layer
        shape = weight.shape
        let rows = weight.shape[0], columns = weight.shape[1]
        let w = weight.scalars
        var low = Float.infinity, high = -Float.infinity, sum = 0.0
        channelMinimums = [Float](repeating: 0, count: rows)
        channelMaximums = [Float](repeating: 0, count: rows)
        for r in 0..<rows {
            var rowLow = Float.infinity, rowHigh = -Float.infinity
            for c in 0..<columns {
                let x = w[r * columns + c]
                rowLow = min(rowLow, x)
                rowHigh = max(rowHigh, x)
                sum += Double(x)
            }
            channelMinimums[r] = rowLow
            channelMaximums[r] = rowHigh
            low = min(low, rowLow)
            high = max(high, rowHigh)
        }
        let n = Double(max(w.count, 1))
        let mu = sum / n
        var m2 = 0.0, m4 = 0.0
        for x in w {
            let d = Double(x) - mu
            let d2 = d * d
            m2 += d2
            m4 += d2 * d2
        }
        m2 /= n
        m4 /= n
        let sigma = m2.squareRoot()
        let threshold = Self.outlierSigmas * sigma
        var outliers = 0
        for x in w where abs(Double(x) - mu) > threshold { outliers += 1 }
        minimum = Double(low)
        maximum = Double(high)
        mean = mu
        standardDeviation = sigma
        absMax = max(abs(minimum), abs(maximum))
        kurtosis = m2 > 0 ? m4 / (m2 * m2) : 0
        outlierShare = sigma > 0 ? Double(outliers) / n : 0
        meanSquaredError = ErrorMetrics.meanSquaredError(dequantized.scalars, reference: w)
        relativeError = ErrorMetrics.relativeError(dequantized.scalars, reference: w)
        sqnrDecibels = ErrorMetrics.sqnrDecibels(dequantized.scalars, reference: w)
    }
}
