/// The element formats Quanta quantizes to. Raw values are the spellings recipes use.
public enum QuantDataType: String, Codable, Sendable, CaseIterable {
    case int2, int3, int4, int8
    case uint2, uint3, uint4, uint8
    case float16, bfloat16
    /// OCP FP8 E4M3 ("fn": no infinities, one NaN pattern per sign, max 448).
    case fp8_e4m3
    /// OCP FP8 E5M2 (IEEE-style infinities and NaNs, max 57344).
    case fp8_e5m2
    /// OCP MX (v1.0): blocks of 32 elements sharing one E8M0 power-of-two scale.
    case mxfp8_e4m3, mxfp8_e5m2, mxfp6_e3m2, mxfp6_e2m3, mxfp4_e2m1, mxint8

    /// Bits per stored element (scales not counted).
    public var bitWidth: Int {
        switch self {
        case .int2, .uint2: 2
        case .int3, .uint3: 3
        case .int4, .uint4, .mxfp4_e2m1: 4
        case .mxfp6_e3m2, .mxfp6_e2m3: 6
        case .int8, .uint8, .fp8_e4m3, .fp8_e5m2, .mxfp8_e4m3, .mxfp8_e5m2, .mxint8: 8
        case .float16, .bfloat16: 16
        }
    }

    /// Integer formats with a scale (and zero point when asymmetric).
    public var isInteger: Bool {
        switch self {
        case .int2, .int3, .int4, .int8, .uint2, .uint3, .uint4, .uint8: true
        default: false
        }
    }

    /// Unsigned integer formats.
    public var isUnsigned: Bool {
        switch self {
        case .uint2, .uint3, .uint4, .uint8: true
        default: false
        }
    }

    /// OCP microscaling formats (block of 32, E8M0 scale).
    public var isMicroscaling: Bool {
        switch self {
        case .mxfp8_e4m3, .mxfp8_e5m2, .mxfp6_e3m2, .mxfp6_e2m3, .mxfp4_e2m1, .mxint8: true
        default: false
        }
    }

    /// Plain float casts with no scale (float16, bfloat16).
    public var isFloatCast: Bool { self == .float16 || self == .bfloat16 }
}
