import Foundation

/// The debugger's view of one quantization point (a linear layer's input) on one batch: Quark's relative errors
/// against the float model, the reference activation's profile over channels and tokens, and histograms.
public struct InputErrorStatistics: Codable, Sendable, Equatable {
    /// The three activations at a point, each `[rows, columns]` (tokens × input features).
    public struct Buffers {
        /// x: the quantized model's own input, before quantization.
        public var input: UnsafeBufferPointer<Float>
        /// QDQ(x).
        public var quantized: UnsafeBufferPointer<Float>
        /// x_ref: the float model's input on the same tokens.
        public var reference: UnsafeBufferPointer<Float>
        public var rows: Int
        public var columns: Int

        public init(
            input: UnsafeBufferPointer<Float>, quantized: UnsafeBufferPointer<Float>,
            reference: UnsafeBufferPointer<Float>,
            rows: Int, columns: Int
        ) {
            precondition(
                input.count == rows * columns && quantized.count == input.count && reference.count == input.count)
            (self.input, self.quantized, self.reference, self.rows, self.columns) = (
                input, quantized, reference, rows, columns
            )
        }
    }

    /// Histograms of x, QDQ(x) and x_ref over one shared range.
    public struct Histograms: Codable, Sendable, Equatable {
        public var input: Histogram
        public var quantized: Histogram
        public var reference: Histogram
    }

    /// Channels listed in `topChannels`.
    public static let topChannelCount = 5

    /// mean(|QDQ(x) − x| / (|x| + ε)).
    public var ioError: Double
    /// mean(|x − x_ref| / (|x_ref| + ε)): error that arrives from earlier layers.
    public var referenceInputError: Double
    /// mean(|QDQ(x) − x_ref| / (|x_ref| + ε)): what this layer finally computes with.
    public var referenceOutputError: Double
    /// SQNR of QDQ(x) against x_ref, dB.
    public var sqnrDecibels: Double
    /// SQNR of QDQ(x) against x (this point's own rounding and clipping), dB.
    public var ioSQNRDecibels: Double
    public var referenceMinimum: Double
    public var referenceMaximum: Double
    public var referenceAbsMean: Double
    /// (max x_ref − min x_ref) / mean|x_ref|: the range a per-tensor grid must span, in units of the typical
    /// magnitude (the cheap sensitivity, after msModelSlim's `range_parm`). A per-tensor int8 step is about
    /// range / 255, so the relative rounding error of a typical value grows in proportion to it.
    public var rangeParameter: Double
    /// mean over tokens of |x_ref| per channel (reduced over dim −2), `[columns]`.
    public var channelAbsMean: [Float]
    /// mean over channels of |x_ref| per token (reduced over dim −1), `[rows]`.
    public var tokenAbsMean: [Float]
    /// The channels with the largest `channelAbsMean`, largest first.
    public var topChannels: [Int]
    /// Largest channel abs-mean over the median one: how far the worst outlier channel stands out.
    public var channelPeakRatio: Double
    public var histograms: Histograms?

    enum CodingKeys: String, CodingKey {
        case histograms
        case ioError = "io_error"
        case referenceInputError = "ref_input_error"
        case referenceOutputError = "ref_output_error"
        case sqnrDecibels = "sqnr_db"
        case ioSQNRDecibels = "io_sqnr_db"
        case referenceMinimum = "ref_min"
        case referenceMaximum = "ref_max"
        case referenceAbsMean = "ref_abs_mean"
        case rangeParameter = "range_parm"
        case channelAbsMean = "channel_abs_mean"
        case tokenAbsMean = "token_abs_mean"
        case topChannels = "top_channels"
        case channelPeakRatio = "channel_peak_ratio"
    }

    /// Measures one point; `histogramBins` nil skips the histograms.
    public init(_ b: Buffers, histogramBins: Int?) {
        ioError = ErrorMetrics.relativeError(b.quantized, reference: b.input)
        referenceInputError = ErrorMetrics.relativeError(b.input, reference: b.reference)
        referenceOutputError = ErrorMetrics.relativeError(b.quantized, reference: b.reference)
        sqnrDecibels = ErrorMetrics.sqnrDecibels(b.quantized, reference: b.reference)
        ioSQNRDecibels = ErrorMetrics.sqnrDecibels(b.quantized, reference: b.input)
        let (rows, columns) = (b.rows, b.columns)
        var channelSums = [Double](repeating: 0, count: columns)
        var tokenAbsMean = [Float](repeating: 0, count: rows)
        var low = Float.infinity, high = -Float.infinity, total = 0.0
        for r in 0..<rows {
            var rowSum = 0.0
            for c in 0..<columns {
                let x = b.reference[r * columns + c]
                low = min(low, x)
                high = max(high, x)
                let magnitude = Double(abs(x))
                rowSum += magnitude
                channelSums[c] += magnitude
            }
            tokenAbsMean[r] = Float(rowSum / Double(max(columns, 1)))
            total += rowSum
        }
        let count = Double(max(rows * columns, 1))
        referenceMinimum = rows * columns == 0 ? 0 : Double(low)
        referenceMaximum = rows * columns == 0 ? 0 : Double(high)
        referenceAbsMean = total / count
        rangeParameter = referenceAbsMean > 0 ? (referenceMaximum - referenceMinimum) / referenceAbsMean : 0
        let channels = channelSums.map { Float($0 / Double(max(rows, 1))) }
        channelAbsMean = channels
        self.tokenAbsMean = tokenAbsMean
        let order = channels.indices.sorted { channels[$0] > channels[$1] }
        topChannels = Array(order.prefix(Self.topChannelCount))
        let median = order.isEmpty ? 0 : Double(channels[order[order.count / 2]])
        channelPeakRatio = median > 0 ? Double(channels[order[0]]) / median : 0
        histograms = histogramBins.map { bins in
            let ranges = [b.input, b.quantized, b.reference].compactMap(Histogram.extrema)
            let range = ranges.isEmpty ? nil : ranges.map(\.lowerBound).min()!...ranges.map(\.upperBound).max()!
            return Histograms(
                input: Histogram(b.input, binCount: bins, range: range),
                quantized: Histogram(b.quantized, binCount: bins, range: range),
                reference: Histogram(b.reference, binCount: bins, range: range))
        }
    }
}
