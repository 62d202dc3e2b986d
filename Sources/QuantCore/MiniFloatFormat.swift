/// A binary floating-point format of at most 8 bits: one sign bit, `exponentBitCount` exponent bits and
/// `mantissaBitCount` mantissa bits, with IEEE-style subnormals (exponent field 0).
///
/// The static members are the OCP element types: FP8 `.e4m3` and `.e5m2` (OCP OFP8 v1.0, Tables 1-2), FP6 `.e3m2`
/// and `.e2m3` (OCP MX v1.0 §5.3.2, Table 4) and FP4 `.e2m1` (§5.3.3, Table 5). A code is the format's bit pattern
/// in the low `bitWidth` bits of a `UInt8`, sign bit highest (FP4 `-6` is `0b1111`).
///
/// `decode` is exact. `encode` rounds to nearest, ties to even, on the format's whole grid (subnormals included) and
/// by default saturates: finite values beyond `maxFinite` and infinities become `±maxFinite`. This is OFP8 v1.0's
/// saturating conversion mode (SAT), the one the MX conversion (MX v1.0 §6.3) and AMD Quark use.
/// NaN becomes the format's NaN where it has one; FP6 and FP4 have none (MX v1.0 §5.3.2: implementation-defined),
/// and there NaN becomes the max-magnitude code with the NaN's sign bit, so a NaN never looks like a small value.
/// Callers that must not see that substitution call `encodeChecked`, which throws `QuantError.nonFiniteInput`.
public struct MiniFloatFormat: Sendable, CustomStringConvertible {
    /// Which bit patterns are not finite numbers.
    public enum SpecialValues: String, Sendable, Equatable, Hashable {
        /// IEEE 754 style: the all-ones exponent holds ±infinity (mantissa 0) and NaNs (mantissa ≠ 0). FP8 E5M2.
        case ieee
        /// No infinities; only S.1…1.1…1 is NaN, so the top binade holds normal numbers. FP8 E4M3 ("fn").
        case nanOnly = "nan_only"
        /// Every code is a finite number. FP6 and FP4.
        case none
    }

    /// Short name as the specs spell it ("E4M3").
    public let name: String
    /// Width of the exponent field (E4M3: 4).
    public let exponentBitCount: Int
    /// Width of the mantissa field, without the implicit leading 1 (E4M3: 3).
    public let mantissaBitCount: Int
    /// Exponent bias: a normal code with exponent field E has value 2^(E − bias) · 1.M.
    public let exponentBias: Int
    /// Which codes are infinities or NaN.
    public let specialValues: SpecialValues
    /// Value of every code, `codeCount` entries then NaN up to 256 (codes outside the format are rejected before
    /// the table is read).
    let decodeTable: [Float]
    /// Float32 bit patterns and constants `encode` uses (see `MiniFloatFormat+Buffers.swift`).
    let constants: MiniFloatEncodeConstants

    /// Describes a format; the OCP ones are the static members.
    /// - Throws: `QuantError.invalidConfiguration` when the widths do not fit in 8 bits, the format has no exponent
    ///   bit, an `.ieee` format has fewer than 2 exponent bits or no mantissa bit, a `.nanOnly` format has no
    ///   mantissa bit, or the values would not all be normal float32 numbers.
    public init(
        name: String, exponentBitCount: Int, mantissaBitCount: Int, exponentBias: Int, specialValues: SpecialValues
    ) throws(QuantError) {
        let field = "MiniFloatFormat \(name)"
        guard exponentBitCount >= 1, mantissaBitCount >= 0, 1 + exponentBitCount + mantissaBitCount <= 8 else {
            let widths = "E\(exponentBitCount)M\(mantissaBitCount)"
            throw .invalidConfiguration(
                field: field, reason: "needs 1 sign + ≥1 exponent + ≥0 mantissa bits ≤ 8, got \(widths)")
        }
        if specialValues == .ieee && (exponentBitCount < 2 || mantissaBitCount < 1) {
            throw .invalidConfiguration(
                field: field, reason: "IEEE-style specials need at least 2 exponent bits and 1 mantissa bit")
        }
        if specialValues == .nanOnly && mantissaBitCount < 1 {
            throw .invalidConfiguration(field: field, reason: "a NaN-only format needs at least 1 mantissa bit")
        }
        let topBiased = (1 << exponentBitCount) - (specialValues == .ieee ? 2 : 1)
        // Every value must be a normal float32 (so the encoder's bit arithmetic holds): 2^(1 − bias − m) ≥ 2^-126
        // for the smallest subnormal, and the largest exponent ≤ 126 leaves room for rounding up one binade.
        guard 1 - exponentBias - mantissaBitCount >= -126, topBiased - exponentBias <= 126 else {
            throw .invalidConfiguration(
                field: field, reason: "bias \(exponentBias) puts values outside float32's normal range")
        }
        self.name = name
        self.exponentBitCount = exponentBitCount
        self.mantissaBitCount = mantissaBitCount
        self.exponentBias = exponentBias
        self.specialValues = specialValues
        var table = [Float](repeating: .nan, count: 256)
        let count = 1 << (1 + exponentBitCount + mantissaBitCount)
        for code in 0..<count {
            table[code] = Self.exactValue(
                code: code, exponentBitCount: exponentBitCount, mantissaBitCount: mantissaBitCount,
                exponentBias: exponentBias, specialValues: specialValues)
        }
        decodeTable = table
        constants = MiniFloatEncodeConstants(
            exponentBitCount: exponentBitCount, mantissaBitCount: mantissaBitCount, exponentBias: exponentBias,
            specialValues: specialValues, maxFinite: table[Self.maxFiniteCode(exponentBitCount, mantissaBitCount,
                                                                               specialValues)])
    }

    /// OCP FP8 E4M3 ("fn"): bias 7, no infinities, NaN = S.1111.111, max 448, smallest subnormal 2^-9.
    public static let e4m3 = try! MiniFloatFormat(
        name: "E4M3", exponentBitCount: 4, mantissaBitCount: 3, exponentBias: 7, specialValues: .nanOnly)
    /// OCP FP8 E5M2: bias 15, IEEE infinities and NaNs, max 57344, smallest subnormal 2^-16.
    public static let e5m2 = try! MiniFloatFormat(
        name: "E5M2", exponentBitCount: 5, mantissaBitCount: 2, exponentBias: 15, specialValues: .ieee)
    /// OCP MX FP6 E3M2: bias 3, no infinities or NaN, max 28, smallest subnormal 2^-4.
    public static let e3m2 = try! MiniFloatFormat(
        name: "E3M2", exponentBitCount: 3, mantissaBitCount: 2, exponentBias: 3, specialValues: .none)
    /// OCP MX FP6 E2M3: bias 1, no infinities or NaN, max 7.5, smallest subnormal 2^-3.
    public static let e2m3 = try! MiniFloatFormat(
        name: "E2M3", exponentBitCount: 2, mantissaBitCount: 3, exponentBias: 1, specialValues: .none)
    /// OCP MX FP4 E2M1: bias 1, no infinities or NaN, values ±{0, 0.5, 1, 1.5, 2, 3, 4, 6}.
    public static let e2m1 = try! MiniFloatFormat(
        name: "E2M1", exponentBitCount: 2, mantissaBitCount: 1, exponentBias: 1, specialValues: .none)

    /// The element format of a float `QuantDataType`: `.fp8_e4m3` and `.mxfp8_e4m3` give `.e4m3`, and so on.
    /// - Throws: `QuantError.invalidConfiguration` for integer, float16/bfloat16 and MXINT8 types.
    public init(dataType: QuantDataType) throws(QuantError) {
        switch dataType {
        case .fp8_e4m3, .mxfp8_e4m3: self = .e4m3
        case .fp8_e5m2, .mxfp8_e5m2: self = .e5m2
        case .mxfp6_e3m2: self = .e3m2
        case .mxfp6_e2m3: self = .e2m3
        case .mxfp4_e2m1: self = .e2m1
        default:
            throw .invalidConfiguration(
                field: "dtype", reason: "\(dataType.rawValue) has no 4-, 6- or 8-bit float element format")
        }
    }

    public var description: String { name }

    /// Bits per code, sign included (4, 6 or 8 for the OCP formats).
    public var bitWidth: Int { 1 + exponentBitCount + mantissaBitCount }
    /// Number of distinct codes, 2^bitWidth.
    public var codeCount: Int { 1 << bitWidth }
    public var hasInfinity: Bool { specialValues == .ieee }
    public var hasNaN: Bool { specialValues != .none }
    /// The sign bit of a code.
    public var signBit: UInt8 { UInt8(truncatingIfNeeded: 1 << (bitWidth - 1)) }

    /// Code of `+maxFinite`.
    public var maxFiniteCode: UInt8 {
        UInt8(Self.maxFiniteCode(exponentBitCount, mantissaBitCount, specialValues))
    }
    /// Largest finite value (448, 57344, 28, 7.5, 6).
    public var maxFinite: Float { decodeTable[Int(maxFiniteCode)] }
    /// Smallest positive normal value, 2^(1 − bias).
    public var minNormal: Float { Float(sign: .plus, exponent: 1 - exponentBias, significand: 1) }
    /// Smallest positive subnormal value, 2^(1 − bias − mantissaBitCount).
    public var minSubnormal: Float {
        Float(sign: .plus, exponent: 1 - exponentBias - mantissaBitCount, significand: 1)
    }
    /// Unbiased exponent of the largest normal binade: MX v1.0's `emax_elem` (E4M3 8, E5M2 15, E3M2 4, E2M3 2,
    /// E2M1 2).
    public var maxExponent: Int {
        (1 << exponentBitCount) - (specialValues == .ieee ? 2 : 1) - exponentBias
    }
    /// Code of `+NaN` (E4M3 0x7F; E5M2 0x7E, the quiet NaN), or nil for formats without NaN.
    public var nanCode: UInt8? {
        switch specialValues {
        case .ieee: UInt8(((1 << exponentBitCount) - 1) << mantissaBitCount | 1 << (mantissaBitCount - 1))
        case .nanOnly: UInt8((1 << (exponentBitCount + mantissaBitCount)) - 1)
        case .none: nil
        }
    }
    /// Code of `+∞` (E5M2 0x7C), or nil for formats without infinities.
    public var infinityCode: UInt8? {
        specialValues == .ieee ? UInt8(((1 << exponentBitCount) - 1) << mantissaBitCount) : nil
    }

    /// Whether `code` is one of the format's NaN patterns.
    public func isNaN(code: UInt8) -> Bool { decode(code).isNaN }

    /// The exact value of `code`: ±0, subnormals, normals, and ±∞ or NaN where the format has them.
    /// - Precondition: `code < codeCount`.
    public func decode(_ code: UInt8) -> Float {
        precondition(Int(code) < codeCount, "\(name) code \(code) does not fit in \(bitWidth) bits")
        return decodeTable[Int(code)]
    }

    /// Rounds `x` to the nearest code, ties to even.
    ///
    /// - Parameters:
    ///   - saturating: true (the default, OFP8 SAT mode): values beyond ±maxFinite and ±∞ give ±maxFinite.
    ///     false (OFP8 non-saturating mode): a value that rounds beyond maxFinite, and ±∞, give ±∞ for E5M2 and
    ///     NaN for E4M3; formats without infinity or NaN saturate either way.
    /// - Returns: the code; NaN gives the format's NaN (sign kept), or the ±maxFinite code for formats without NaN.
    public func encode(_ x: Float, saturating: Bool = true) -> UInt8 {
        let c = constants
        let bits = x.bitPattern
        let sign = UInt8(truncatingIfNeeded: bits >> 31) << UInt8(bitWidth - 1)
        let magnitude = bits & 0x7FFF_FFFF
        if magnitude > 0x7F80_0000 {
            return sign | (nanCode ?? maxFiniteCode)
        }
        if saturating || specialValues == .none {
            return sign | UInt8(truncatingIfNeeded: c.magnitudeCode(min(magnitude, c.maxFiniteBits)))
        }
        if magnitude == 0x7F80_0000 {
            return sign | (infinityCode ?? nanCode ?? maxFiniteCode)
        }
        // Round with an unbounded exponent (IEEE 754 §7.4): whatever lands past maxFinite overflows. The bound on
        // the input keeps the code arithmetic in range; anything that large overflows anyway.
        let code = c.magnitudeCode(min(magnitude, c.overflowBoundBits))
        if code > UInt32(maxFiniteCode) {
            return sign | (infinityCode ?? nanCode ?? maxFiniteCode)
        }
        return sign | UInt8(truncatingIfNeeded: code)
    }

    /// `encode(x, saturating:)` for callers that treat non-finite input as an error.
    /// - Throws: `QuantError.nonFiniteInput` for NaN or ±∞, whatever the format could encode.
    public func encodeChecked(_ x: Float, saturating: Bool = true) throws(QuantError) -> UInt8 {
        guard x.isFinite else { throw .nonFiniteInput("\(name) encode: input is \(x)") }
        return encode(x, saturating: saturating)
    }

    static func maxFiniteCode(_ e: Int, _ m: Int, _ specials: SpecialValues) -> Int {
        switch specials {
        case .ieee: ((1 << e) - 2) << m | ((1 << m) - 1)
        case .nanOnly: ((1 << e) - 1) << m | ((1 << m) - 2)
        case .none: ((1 << e) - 1) << m | ((1 << m) - 1)
        }
    }

    static func exactValue(
        code: Int, exponentBitCount e: Int, mantissaBitCount m: Int, exponentBias bias: Int,
        specialValues: SpecialValues
    ) -> Float {
        let sign: FloatingPointSign = (code >> (e + m)) & 1 == 1 ? .minus : .plus
        let exponentField = (code >> m) & ((1 << e) - 1)
        let mantissa = code & ((1 << m) - 1)
        let topExponent = (1 << e) - 1
        switch specialValues {
        // NaNs keep the code's sign bit, so E4M3's 0xFF decodes to a NaN that encodes back to 0xFF.
        case .ieee where exponentField == topExponent:
            return mantissa == 0 ? (sign == .minus ? -.infinity : .infinity) : (sign == .minus ? -.nan : .nan)
        case .nanOnly where exponentField == topExponent && mantissa == (1 << m) - 1:
            return sign == .minus ? -.nan : .nan
        default:
            break
        }
        // Subnormals have no implicit 1 and the exponent of the smallest normal binade.
        let significand = exponentField == 0 ? mantissa : (1 << m) | mantissa
        let exponent = max(exponentField, 1) - bias - m
        let magnitude = Float(sign: .plus, exponent: exponent, significand: Float(significand))
        return sign == .minus ? -magnitude : magnitude
    }
}

extension MiniFloatFormat: Equatable, Hashable {
    public static func == (lhs: MiniFloatFormat, rhs: MiniFloatFormat) -> Bool {
        lhs.exponentBitCount == rhs.exponentBitCount && lhs.mantissaBitCount == rhs.mantissaBitCount
            && lhs.exponentBias == rhs.exponentBias && lhs.specialValues == rhs.specialValues
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(exponentBitCount)
        hasher.combine(mantissaBitCount)
        hasher.combine(exponentBias)
        hasher.combine(specialValues)
    }
}
