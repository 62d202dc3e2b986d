import Analysis
import Foundation
import Inference
import Quantization

/// Measures, at each layer input that has a float reference, x (what reaches the layer), QDQ(x) (what its product
/// reads after the layer's own input quantizer) and x_ref on the spot; each reference is released once used, so
/// memory falls as the pass moves through the model.
final class DebugHooks: ForwardHooks {
    private let references: ReferenceCaptureHooks
    private let histogramBins: Int?
    private(set) var statistics: [String: InputErrorStatistics] = [:]
    private let progress: (Int) -> Void
    /// The input of the layer running now, before its quantizer.
    private var pending: (layer: String, values: [Float])?

    init(references: ReferenceCaptureHooks, histogramBins: Int?, progress: @escaping (Int) -> Void) {
        self.references = references
        self.histogramBins = histogramBins
        self.progress = progress
    }

    func linearInput(_ layer: String, _ input: UnsafePointer<Float>, rows: Int, columns: Int) {
        pending = (layer, Array(UnsafeBufferPointer(start: input, count: rows * columns)))
    }

    func linearProductInput(_ layer: String, _ quantized: UnsafePointer<Float>, rows: Int, columns: Int) {
        defer { pending = nil }
        guard let pending, pending.layer == layer,
              let reference = references.take(QuantizationPoint(layer: layer, kind: .input))
        else { return }
        let count = rows * columns
        pending.values.withUnsafeBufferPointer { x in
            reference.withUnsafeBufferPointer { r in
                let buffers = InputErrorStatistics.Buffers(
                    input: x, quantized: UnsafeBufferPointer(start: quantized, count: count), reference: r, rows: rows,
                    columns: columns)
                statistics[layer] = InputErrorStatistics(buffers, histogramBins: histogramBins)
            }
        }
        progress(statistics.count)
    }
}
