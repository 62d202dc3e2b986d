import Inference
import QuantCore

/// Feeds the activations at every statically quantized point to that point's observer during calibration passes.
/// Errors (NaN activations) are kept and rethrown after the pass, since hooks cannot throw.
final class CalibrationHooks: PointHooks {
    private(set) var observers: [QuantizationPoint: any Observer]
    private(set) var firstError: (any Error)?

    /// Observers for `schemes` (static, non-MX, non-cast schemes only).
    init(schemes: [QuantizationPoint: QuantScheme]) throws {
        var observers: [QuantizationPoint: any Observer] = [:]
        for (point, scheme) in schemes { observers[point] = try makeObserver(for: scheme) }
        self.observers = observers
    }

    func visit(_ point: QuantizationPoint, _ data: UnsafeMutablePointer<Float>, rows: Int, columns: Int) {
        guard firstError == nil, observers[point] != nil else { return }
        do {
            try observers[point]!.accumulate(UnsafeBufferPointer(start: data, count: rows * columns))
        } catch {
            firstError = error
        }
    }
}
