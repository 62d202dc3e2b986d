import Inference
import QuantCore
import TensorCore

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
        // An observer would fold a NaN into its range (or drop it) and calibrate nonsense: stop here, naming the point.
        let buffer = UnsafeBufferPointer(start: data, count: rows * columns)
        if let index = FiniteScan.firstNonFinite(buffer) {
            firstError = QuantizationError.nonFiniteActivation(
                place: "the activation at \(point) during calibration",
                detail: "\(buffer[index]) at row \(index / max(columns, 1)), column \(index % max(columns, 1))")
            return
        }
        do {
            try observers[point]!.accumulate(UnsafeBufferPointer(start: data, count: rows * columns))
        } catch {
            firstError = error
        }
    }
}
