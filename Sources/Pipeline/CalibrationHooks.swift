import Inference
import QuantCore

/// Feeds the activations at every statically quantized point to that point's observer during calibration passes.
/// Errors (NaN activations) are kept and rethrown after the pass, since hooks cannot throw.
final class CalibrationHooks: ForwardHooks {
    private(set) var observers: [QuantizationPoint: any Observer]
    private(set) var firstError: (any Error)?

    /// Observers for `schemes` (static, non-MX, non-cast schemes only).
    init(schemes: [QuantizationPoint: QuantScheme]) throws {
        var observers: [QuantizationPoint: any Observer] = [:]
        for (point, scheme) in schemes { observers[point] = try makeObserver(for: scheme) }
        self.observers = observers
    }

    private func observe(_ point: QuantizationPoint, _ data: UnsafeMutablePointer<Float>, count: Int) {
        guard firstError == nil, observers[point] != nil else { return }
        do {
            try observers[point]!.accumulate(UnsafeBufferPointer(start: data, count: count))
        } catch {
            firstError = error
        }
    }

    func linearInput(_ layer: String, _ input: UnsafeMutablePointer<Float>, rows: Int, columns: Int) {
        observe(QuantizationPoint(layer: layer, kind: .input), input, count: rows * columns)
    }

    func linearOutput(_ layer: String, _ output: UnsafeMutablePointer<Float>, rows: Int, columns: Int) {
        observe(QuantizationPoint(layer: layer, kind: .output), output, count: rows * columns)
    }

    func keyValue(layer: Int, keys: UnsafeMutablePointer<Float>, values: UnsafeMutablePointer<Float>, rows: Int, width: Int) {
        observe(.keyValue(layer, .keys), keys, count: rows * width)
        observe(.keyValue(layer, .values), values, count: rows * width)
    }
}
