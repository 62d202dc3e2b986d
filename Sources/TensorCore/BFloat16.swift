/// Brain floating point: the top 16 bits of an IEEE float32 (8 exponent bits, 7 mantissa bits).
///
/// Swift has no `BFloat16` on Linux; this is the storage type. Conversion from float32 rounds to nearest even and
/// keeps NaN a quiet NaN, as PyTorch and the safetensors `BF16` dtype do.
public struct BFloat16: Sendable, Equatable, Hashable {
    /// The raw 16-bit pattern.
    public var bitPattern: UInt16

    /// Wraps a raw bit pattern.
    public init(bitPattern: UInt16) { self.bitPattern = bitPattern }

    /// Rounds `value` to the nearest bfloat16 (ties to even).
    @inlinable
    public init(_ value: Float) {
        let bits = value.bitPattern
        if value.isNaN {
            // Keep the sign and force the quiet bit so truncation cannot turn a NaN into infinity.
            bitPattern = UInt16(truncatingIfNeeded: bits >> 16) | 0x0040
            return
        }
        let roundingBias: UInt32 = 0x7FFF + ((bits >> 16) & 1)
        bitPattern = UInt16(truncatingIfNeeded: (bits &+ roundingBias) >> 16)
    }

    /// The exact float32 value.
    @inlinable
    public var floatValue: Float { Float(bitPattern: UInt32(bitPattern) << 16) }
}
