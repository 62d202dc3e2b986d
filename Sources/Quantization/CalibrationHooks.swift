import Inference
import QuantCore

/// Feeds the activations at every statically quantized point to that point's observer during calibration passes.
/// Errors (NaN activations) are kept and rethrown after the pass, since hooks cannot throw.
final class CalibrationHooks: PointHooks {
    private(set) var observers: [QuantizationPoint: any Observer]
    private(set) var firstError: (any Error)?
    /// Per-channel schemes, whose observers are made when the channel count (the data's width) is first seen.
    private var pending: [QuantizationPoint: QuantScheme] = [:]

    /// Observers for `schemes` (static, non-MX, non-cast schemes only).
    init(schemes: [QuantizationPoint: QuantScheme]) throws {
        var observers: [QuantizationPoint: any Observer] = [:]
        for (point, scheme) in schemes {
            if scheme.granularity == .perChannel {
                pending[point] = scheme
            } else {
                observers[point] = try makeObserver(for: scheme)
            }
        }
        self.observers = observers
    }

    func visit(_ point: QuantizationPoint, _ data: UnsafePointer<Float>, rows: Int, columns: Int) {
        guard firstError == nil else { return }
        if let scheme = pending.removeValue(forKey: point) {
            do {
                observers[point] = try makeObserver(for: scheme, channels: columns)
            } catch {
                firstError = error
                return
            }
        }
        guard observers[point] != nil else { return }
        do {
            try observers[point]!.accumulate(UnsafeBufferPointer(start: data, count: rows * columns))
        } catch {
            firstError = error
        }
    }
}
