/// The OCP MX shared-scale type (OCP MX v1.0, Table 7): an unsigned 8-bit biased exponent, bias 127, no sign, no
/// mantissa, no zero and no infinity. Code c ∈ 0...254 is 2^(c − 127); 0xFF is NaN.
///
/// The smallest scale, code 0 = 2^-127, is a float32 subnormal (bit pattern 0x0040_0000), so `floatValue` is exact for
/// every code.
public struct E8M0: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// The raw byte.
    public var bitPattern: UInt8

    /// Exponent bias: code = exponent + 127.
    public static let exponentBias = 127
    /// Smallest and largest representable exponents.
    public static let exponentRange = -127...127
    /// The NaN scale, 0xFF: every element of a block with this scale is NaN.
    public static let nan = E8M0(bitPattern: 0xFF)

    /// Wraps a raw byte.
    public init(bitPattern: UInt8) { self.bitPattern = bitPattern }

    /// The scale 2^exponent, with `exponent` clamped to [-127, 127] (MX v1.0 §6.3 clamps the shared exponent to the
    /// scale's range; an out-of-range exponent never becomes NaN here).
    public init(exponent: Int) {
        let clamped = min(max(exponent, Self.exponentRange.lowerBound), Self.exponentRange.upperBound)
        bitPattern = UInt8(clamped + Self.exponentBias)
    }

    /// Whether this is the NaN code 0xFF.
    public var isNaN: Bool { bitPattern == 0xFF }

    /// The unbiased exponent, or nil for NaN.
    public var exponent: Int? { isNaN ? nil : Int(bitPattern) - Self.exponentBias }

    /// 2^(code − 127) exactly as a float32 (code 0 is the subnormal 2^-127), or NaN for 0xFF.
    @inlinable
    public var floatValue: Float {
        switch bitPattern {
        case 0: Float(bitPattern: 0x0040_0000)
        case 0xFF: .nan
        default: Float(bitPattern: UInt32(bitPattern) << 23)
        }
    }

    /// 1 / floatValue exactly (2^(127 − code); code 0 gives 2^127), or NaN for 0xFF.
    @inlinable
    public var reciprocal: Float {
        switch bitPattern {
        case 0xFF: .nan
        case 0: Float(bitPattern: 254 << 23)
        case 254: Float(bitPattern: 0x0040_0000)
        default: Float(bitPattern: UInt32(254 - bitPattern) << 23)
        }
    }

    public var description: String {
        if let exponent { "2^\(exponent)" } else { "NaN" }
    }
}
