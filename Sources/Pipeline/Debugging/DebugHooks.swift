import Analysis
import Foundation

/// Runs the quantized model's activation quantizers and, at each layer input that has a float reference, measures
/// x (before QDQ), QDQ(x) (after) and x_ref on the spot; each reference is released once used, so memory falls as
/// the pass moves through the model.
final class DebugHooks: PointHooks {
    private let quantizer: ActivationQuantizer
    private let references: ReferenceCaptureHooks
    private let histogramBins: Int?
    private(set) var statistics: [String: ActivationStatistics] = [:]
    private let progress: (Int) -> Void

    init(
        quantizer: ActivationQuantizer, references: ReferenceCaptureHooks, histogramBins: Int?,
        progress: @escaping (Int) -> Void
    ) {
        self.quantizer = quantizer
        self.references = references
        self.histogramBins = histogramBins
        self.progress = progress
    }

    func visit(_ point: QuantizationPoint, _ data: UnsafeMutablePointer<Float>, rows: Int, columns: Int) {
        guard point.kind == .input, let reference = references.take(point) else {
            quantizer.visit(point, data, rows: rows, columns: columns)
            return
        }
        let count = rows * columns
        let input = Array(UnsafeBufferPointer(start: data, count: count))
        quantizer.visit(point, data, rows: rows, columns: columns)
        input.withUnsafeBufferPointer { x in
            reference.withUnsafeBufferPointer { r in
                let buffers = ActivationStatistics.Buffers(
                    input: x, quantized: UnsafeBufferPointer(start: data, count: count), reference: r, rows: rows,
                    columns: columns)
                statistics[point.layer] = ActivationStatistics(buffers, histogramBins: histogramBins)
            }
        }
        progress(statistics.count)
    }
}
