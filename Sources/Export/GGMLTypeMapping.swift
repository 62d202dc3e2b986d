import ModelFormats
import QuantCore

/// Which GGML type holds a Quanta weight scheme's codes exactly: the one table the exporter decides by.
///
/// A GGML block is 32 consecutive elements of a row with one float16 scale d (and a float16 minimum m). A Quanta
/// scheme fits when every block lies inside one of its parameter slots (per tensor, per output channel, or groups
/// whose size is a multiple of 32, a ragged last group included) and its code grid is a subset of the type's:
///
/// | GGML type | Quanta schemes it holds exactly                     | stored code      | d     | m                    |
/// |-----------|-----------------------------------------------------|------------------|-------|----------------------|
/// | Q8_0      | int8 symmetric (zero point 0); uint8 symmetric (128) | q − zp           | scale | —                    |
/// | Q4_0      | int2/3/4 symmetric (0); uint2/3/4 symmetric (2^(b−1)) | q − zp + 8       | scale | —                    |
/// | Q4_1      | int2/3/4 and uint2/3/4 asymmetric                    | q − qmin         | scale | (qmin − zp)·scale    |
/// | Q5_0      | none (Quanta has no 5-bit format): float sources and re-quantization only                       |
/// | Q5_1      | none, as Q5_0                                                                                   |
/// | Q4_K/Q5_K | none exactly; ≤4-bit groups a multiple of 32 carried with 6-bit scales (`GGMLTypeMapping+KQuants`) |
/// | Q6_K      | none exactly; ≤6-bit symmetric groups a multiple of 16 carried with 8-bit scales                |
/// | F16       | float16 casts; float layers (default)                | the float16 bits | —     | —                    |
/// | BF16      | bfloat16 casts                                       | the bfloat16 bits| —     | —                    |
/// | F32       | norms and biases (always)                            | the float bits   | —     | —                    |
///
/// Refused, with the nearest type: groups not a multiple of 32 or channels along the input axis (the block would
/// straddle two scales), rows not a multiple of 32, asymmetric 8-bit (Q8_0 has no minimum; nearest Q8_0), FP8 (Q8_0)
/// and OCP MX (MXFP4 → Q4_0, the others Q8_0).
public enum GGMLTypeMapping {
    /// The table above as data, one row per GGML type: what `decide` implements, for the README and reports.
    public static let table: [(type: GGMLType, schemes: String)] = [
        (.q8_0, "int8 symmetric, uint8 symmetric"),
        (.q4_0, "int2/3/4 symmetric, uint2/3/4 symmetric"),
        (.q4_1, "int2/3/4 and uint2/3/4 asymmetric"),
        (.q5_0, "none (float sources and re-quantization only)"),
        (.q5_1, "none (float sources and re-quantization only)"),
        (.q4_K, "none exactly; ≤4-bit int/uint, groups a multiple of 32: codes carried, scales and minimums to 6 bits"),
        (.q5_K, "none exactly; as Q4_K (Quanta has no 5-bit integer type)"),
        (.q6_K, "none exactly; ≤6-bit symmetric int/uint, groups a multiple of 16: codes carried, scales to 8 bits"),
        (.f16, "float16 casts; float layers by default"),
        (.bf16, "bfloat16 casts"),
        (.f32, "norms and biases"),
    ]

    /// What to do with one quantized weight.
    public enum Decision: Equatable, Sendable {
        /// Its codes are written as `type` with no re-rounding of codes (scales are stored in float16).
        case exact(GGMLType)
        /// No GGML type holds it; `nearest` is the type a conversion from the dequantized weights would use.
        case refused(reason: String, nearest: GGMLType)
    }

    /// Decides the GGML type for a weight quantized with `scheme`, `shape` outermost first (`[out, in]`).
    public static func decide(_ scheme: QuantScheme, shape: [Int]) -> Decision {
        let type = scheme.dataType
        let rowLength = shape.last ?? 1
        if type == .float16 { return .exact(.f16) }
        if type == .bfloat16 { return .exact(.bf16) }
        let nearest = nearestType(scheme)
        if type == .fp8_e4m3 || type == .fp8_e5m2 {
            return .refused(reason: "GGML has no FP8 type", nearest: nearest)
        }
        if type.isMicroscaling {
            return .refused(
                reason: "OCP MX element formats with E8M0 block scales are not a GGML type here", nearest: nearest)
        }
        guard rowLength % GGMLBlockEncoder.blockElementCount == 0 else {
            return .refused(reason: "rows of \(rowLength) elements are not whole blocks of 32", nearest: .f16)
        }
        switch scheme.granularity {
        case .perTensor: break
        case .perChannel where scheme.axis == 0: break
        case .perGroup where (scheme.groupSize ?? 0) % GGMLBlockEncoder.blockElementCount == 0: break
        case .perGroup:
            return .refused(
                reason: "groups of \(scheme.groupSize ?? 0) elements: a block of 32 would span two scales",
                nearest: nearest)
        default:
            return .refused(
                reason: "\(scheme.granularity.rawValue) scales along axis \(scheme.axis) vary inside a block of 32",
                nearest: nearest)
        }
        switch (type.bitWidth, scheme.isSymmetric) {
        case (...4, true): return .exact(.q4_0)
        case (...4, false): return .exact(.q4_1)
        case (8, true): return .exact(.q8_0)
        case (8, false):
            return .refused(reason: "asymmetric 8-bit codes need a minimum, which Q8_0 does not store", nearest: .q8_0)
        default:
            return .refused(reason: "\(type.bitWidth)-bit codes", nearest: nearest)
        }
    }

    /// The GGML type closest to `scheme` in bits and symmetry, for refusals and re-quantization.
    public static func nearestType(_ scheme: QuantScheme) -> GGMLType {
        let type = scheme.dataType
        if type == .mxfp4_e2m1 { return .q4_0 }
        if type.isInteger && type.bitWidth <= 4 { return scheme.isSymmetric ? .q4_0 : .q4_1 }
        return .q8_0
    }

    /// One line naming the scheme: `uint4 asymmetric per_group(group_size: 128)`.
    public static func describe(_ scheme: QuantScheme) -> String {
        var text = scheme.dataType.rawValue
        if scheme.dataType.isInteger { text += scheme.isSymmetric ? " symmetric" : " asymmetric" }
        switch scheme.granularity {
        case .perGroup: text += " groups of \(scheme.groupSize ?? 0)"
        case .perChannel: text += " per channel (axis \(scheme.axis))"
        default: text += " " + scheme.granularity.rawValue
        }
        return text
    }
}
