import Foundation
import Inference
import Quantization

/// Captures the float model's input at chosen linear layers. Layers that read the same input (q/k/v, gate/up) share
/// one stored copy, so a SmolLM2 block costs 4 activations, not 7.
final class ReferenceCaptureHooks: PointHooks {
    private let wanted: Set<QuantizationPoint>
    private(set) var captured: [QuantizationPoint: [Float]] = [:]
    private var last: [Float] = []

    init(points: Set<QuantizationPoint>) { wanted = points }

    func visit(_ point: QuantizationPoint, _ data: UnsafePointer<Float>, rows: Int, columns: Int) {
        guard wanted.contains(point) else { return }
        let count = rows * columns
        let same =
            last.count == count
            && last.withUnsafeBufferPointer { memcmp($0.baseAddress!, data, count * MemoryLayout<Float>.stride) == 0 }
        if !same { last = Array(UnsafeBufferPointer(start: data, count: count)) }
        captured[point] = last
    }

    /// Hands over (and forgets) the input captured at `point`.
    func take(_ point: QuantizationPoint) -> [Float]? { captured.removeValue(forKey: point) }
}
