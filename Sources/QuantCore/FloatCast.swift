import TensorCore

/// Float32 ⇄ float16 and bfloat16 conversions over buffers, both rounding to nearest, ties to even.
///
/// float16 is IEEE 754 binary16: finite values that round past 65504 become ±∞ (an IEEE cast, as PyTorch's
/// `.half()`; it does not saturate), NaN stays NaN. bfloat16 is the top half of the float32 pattern, rounded as
/// TensorCore's `BFloat16(_:)` rounds (NaN stays a quiet NaN with its sign). Decoding is exact for both.
public enum FloatCast {
    #if !(os(macOS) && arch(x86_64))
    /// Rounds each value to float16 and stores its bit pattern.
    /// - Precondition: `bits.count == values.count`.
    public static func encodeFloat16(
        _ values: UnsafeBufferPointer<Float>, into bits: UnsafeMutableBufferPointer<UInt16>
    ) {
        precondition(bits.count == values.count, "float16 encode: \(values.count) values but \(bits.count) outputs")
        for index in values.indices { bits[index] = Float16(values[index]).bitPattern }
    }

    /// The float32 value of each float16 bit pattern.
    /// - Precondition: `values.count == bits.count`.
    public static func decodeFloat16(
        _ bits: UnsafeBufferPointer<UInt16>, into values: UnsafeMutableBufferPointer<Float>
    ) {
        precondition(values.count == bits.count, "float16 decode: \(bits.count) inputs but \(values.count) values")
        for index in bits.indices { values[index] = Float(Float16(bitPattern: bits[index])) }
    }

    /// Replaces each value by its nearest float16, as a float32 (fake quantization).
    public static func roundTripFloat16(_ values: UnsafeMutableBufferPointer<Float>) {
        for index in values.indices { values[index] = Float(Float16(values[index])) }
    }
    #endif

    /// Rounds each value to bfloat16 and stores its bit pattern; equal to `BFloat16(value).bitPattern` lane by lane,
    /// without its NaN branch so the loop vectorizes.
    /// - Precondition: `bits.count == values.count`.
    public static func encodeBFloat16(
        _ values: UnsafeBufferPointer<Float>, into bits: UnsafeMutableBufferPointer<UInt16>
    ) {
        precondition(bits.count == values.count, "bfloat16 encode: \(values.count) values but \(bits.count) outputs")
        for index in values.indices { bits[index] = bfloat16Bits(values[index]) }
    }

    /// The float32 value of each bfloat16 bit pattern (exact: the pattern shifted into the top half).
    /// - Precondition: `values.count == bits.count`.
    public static func decodeBFloat16(
        _ bits: UnsafeBufferPointer<UInt16>, into values: UnsafeMutableBufferPointer<Float>
    ) {
        precondition(values.count == bits.count, "bfloat16 decode: \(bits.count) inputs but \(values.count) values")
        for index in bits.indices { values[index] = Float(bitPattern: UInt32(bits[index]) << 16) }
    }

    /// Replaces each value by its nearest bfloat16, as a float32 (fake quantization).
    public static func roundTripBFloat16(_ values: UnsafeMutableBufferPointer<Float>) {
        for index in values.indices { values[index] = Float(bitPattern: UInt32(bfloat16Bits(values[index])) << 16) }
    }

    /// Replaces each value by its nearest `dataType` value in place.
    /// - Throws: `QuantError.invalidConfiguration` unless `dataType.isFloatCast` (and, for float16, the platform has
    ///   `Float16`).
    public static func roundTrip(
        _ values: UnsafeMutableBufferPointer<Float>, to dataType: QuantDataType
    ) throws(QuantError) {
        switch dataType {
        case .bfloat16:
            roundTripBFloat16(values)
        case .float16:
            #if !(os(macOS) && arch(x86_64))
            roundTripFloat16(values)
            #else
            throw .invalidConfiguration(field: "dtype", reason: "float16 needs Swift's Float16, absent on Intel macOS")
            #endif
        default:
            throw .invalidConfiguration(
                field: "dtype", reason: "FloatCast handles float16 and bfloat16, not \(dataType.rawValue)")
        }
    }

    /// `BFloat16(value).bitPattern` as a select instead of a branch.
    @inline(__always)
    static func bfloat16Bits(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        let rounded = (bits &+ 0x7FFF &+ ((bits &>> 16) & 1)) &>> 16
        let quietNaN = (bits &>> 16) | 0x0040
        let isNaN = bits & 0x7FFF_FFFF > 0x7F80_0000
        return UInt16(truncatingIfNeeded: isNaN ? quietNaN : rounded)
    }
}
