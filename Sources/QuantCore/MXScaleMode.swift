/// How an OCP MX block's shared exponent is chosen (`QuantScheme.scaleMode`, recipe key `scale_mode`).
///
/// With e = floor(log2 amax) (exact, float32 subnormals included) and emax_elem the element type's largest normal
/// exponent, every mode picks the exponent e − emax_elem or e − emax_elem + 1, clamped to E8M0's [−127, 127]:
/// - `floor`: always e − emax_elem, the OCP MX v1.0 §6.3 rule. The block maximum never rounds up past the element
///   format's range, but values above the element maximum (E2M1's 6, for amax in [6, 8) · X) saturate.
/// - `even`: AMD Quark's default (`scale_calculation_mode="even"`, its `even_round`): amax's significand m ∈ [1, 2) is
///   first rounded to the element's mantissa width, half up, and a carry to 2 raises the exponent by one. So the
///   block moves to the next scale when m ≥ 2 − 2^−(mbits+1) (E2M1: m ≥ 1.75; E2M3, E4M3: m ≥ 1.9375; E3M2, E5M2:
///   m ≥ 1.875). For MXINT8 this uses its 6 fraction bits (m ≥ 1 + 127/128, where amax would round to 2 and
///   saturate); Quark's table gives int8 8 mantissa bits (m ≥ 1 + 511/512). Quark's bit arithmetic on float32 is
///   used for normal amax; a subnormal amax is normalized first here (for MX element types its exponent clamps to
///   −127 either way, except MXINT8 at amax ∈ [2^−127, 2^−126)).
/// - `search`: per block, both candidates are encoded and the one whose dequantized block has the smaller sum of
///   squared errors is kept (floor on a tie). Cost: each block is encoded twice and both squared errors are summed
///   (a second encoder pass, two decode-and-accumulate passes), for weights once and for dynamic activations on every
///   call. Measured on SmolLM2-135M MXFP4 weights: 9.3–11.2 s against 7.2–9.7 s for `floor` (three runs each, whole
///   weight pass, loaded machine); see benchmarks/results/mx-scale-modes-*.md for evaluation times.
///
/// Zero blocks keep scale code 0 (2^−127) and non-finite blocks the NaN scale in every mode. Dequantization does not
/// depend on the mode: a stored block carries its scale.
public enum MXScaleMode: String, Codable, Sendable, CaseIterable {
    case floor
    case even
    case search

    /// Mantissa bits amax is rounded to under `even`: the element's explicit mantissa bits (fraction bits of MXINT8).
    static func roundingBits(for dataType: QuantDataType) -> Int {
        switch dataType {
        case .mxfp8_e4m3: 3
        case .mxfp8_e5m2: 2
        case .mxfp6_e3m2: 2
        case .mxfp6_e2m3: 3
        case .mxfp4_e2m1: 1
        default: 6  // mxint8: 1.6 fixed point
        }
    }

    /// floor(log2 amax) under this mode's rounding of amax (`floor` and `search` use amax itself).
    /// - Precondition: `amax` is finite and > 0.
    static func amaxExponent(_ amax: Float, mode: MXScaleMode, roundingBits: Int) -> Int {
        let exponent = Int(amax.exponent)
        guard mode == .even else { return exponent }
        if amax.isNormal {
            // Quark's bit arithmetic: add half a unit of the last kept mantissa bit, drop the rest; a carry lands in
            // the exponent field (it cannot reach the sign: 0x7F7F_FFFF + 2^22 < 2^32).
            let bits = amax.bitPattern &+ (UInt32(1) << (22 - roundingBits))
            return Int(bits >> 23) - 127
        }
        // Subnormal: the significand normalized to [1, 2) is exact in Double, and so is m · 2^bits + 1/2.
        let significand = Double(amax.significand)
        let scaledUp = significand * Double(1 << roundingBits) + 0.5
        return scaledUp.rounded(.down) >= Double(2 << roundingBits) ? exponent + 1 : exponent
    }
}
