import QuantCore

/// How the input rows enter a packed product.
///
/// The int8 modes reproduce `TensorQuantizer.fakeQuantizeRows` for a symmetric-range int8 scheme exactly:
/// codes in [-128, 127], `q = round(clamp(x · (1/s), qmin − z, qmax − z)) + z` with `1/s` rounded to float32 first and
/// round half to even, x̂ = (q − z) · s. The kernels keep q in int8, accumulate `Σ q · w` in int32 and apply the
/// scales in the epilogue, so the product equals the fake-quant product up to float summation order.
public enum PackedActivation: Sendable, Equatable {
    /// Float activations (W8A16, W4A16, FP8 weights).
    case float
    /// Dynamic symmetric int8 per row (token): s = max(amax / 127.5, ε) with amax = max |x| over the row and
    /// ε = `QuantParameters.scaleEpsilon` (QuantCore's symmetric full-range grid divides by (qmax − qmin) / 2 = 127.5,
    /// not 127), z = 0.
    case int8PerToken
    /// A calibrated per-tensor scale and zero point (0 for symmetric), codes clamped to [-128, 127].
    case int8Static(scale: Float, zeroPoint: Int32)

    /// The mode that computes what `quantizer` fake-quantizes, or nil when no packed mode does (another data type,
    /// narrow range, another rounding or granularity, float16 dynamic scales...): the caller then fake-quantizes
    /// the input itself and uses `.float`. A nil quantizer is `.float`.
    public init?(_ quantizer: ActivationQuantizer?) {
        guard let quantizer else {
            self = .float
            return
        }
        let scheme = quantizer.scheme
        guard scheme.dataType == .int8, !scheme.isNarrowRange, scheme.rounding == .halfToEven else { return nil }
        if let parameters = quantizer.parameters {
            guard parameters.scales.count == 1, parameters.zeroPoints.count == 1 else { return nil }
            self = .int8Static(scale: parameters.scales[0], zeroPoint: parameters.zeroPoints[0])
            return
        }
        guard scheme.isDynamic || scheme.granularity == .perToken, scheme.granularity == .perToken,
            scheme.isSymmetric, scheme.scaleType == .float32
        else { return nil }
        self = .int8PerToken
    }

    /// Whether the product reads int8 activation codes.
    public var isInteger: Bool { self != .float }
}
