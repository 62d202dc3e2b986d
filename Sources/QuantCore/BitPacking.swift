/// Packs integer codes of 1–8 bits into bytes, least significant bits first: element i occupies bits
/// [i·w, (i+1)·w) of the little-endian bit stream. Signed codes are stored as w-bit two's complement.
public enum BitPacking {
    /// Bytes needed for `count` codes of `bitWidth` bits.
    public static func byteCount(count: Int, bitWidth: Int) -> Int { (count * bitWidth + 7) / 8 }

    /// Packs `codes` (each within the w-bit range, signed or unsigned) into a byte stream.
    public static func pack(_ codes: [Int32], bitWidth: Int) -> [UInt8] {
        precondition((1...8).contains(bitWidth))
        if bitWidth == 8 { return codes.map { UInt8(truncatingIfNeeded: $0) } }
        var bytes = [UInt8](repeating: 0, count: byteCount(count: codes.count, bitWidth: bitWidth))
        let mask = UInt32((1 << bitWidth) - 1)
        var bit = 0
        for code in codes {
            let value = UInt32(bitPattern: code) & mask
            let byte = bit >> 3, shift = bit & 7
            bytes[byte] |= UInt8(truncatingIfNeeded: value << shift)
            if shift + bitWidth > 8 { bytes[byte + 1] |= UInt8(truncatingIfNeeded: value >> (8 - shift)) }
            bit += bitWidth
        }
        return bytes
    }

    /// Unpacks `count` codes; `isSigned` sign-extends each from `bitWidth` bits.
    public static func unpack(_ bytes: [UInt8], count: Int, bitWidth: Int, isSigned: Bool) -> [Int32] {
        precondition((1...8).contains(bitWidth) && bytes.count >= byteCount(count: count, bitWidth: bitWidth))
        var codes = [Int32](repeating: 0, count: count)
        let mask = UInt32((1 << bitWidth) - 1)
        let signBit = UInt32(1) << (bitWidth - 1)
        var bit = 0
        for index in 0..<count {
            let byte = bit >> 3, shift = bit & 7
            var value = UInt32(bytes[byte]) >> shift
            if shift + bitWidth > 8 { value |= UInt32(bytes[byte + 1]) << (8 - shift) }
            value &= mask
            codes[index] = isSigned && value & signBit != 0 ? Int32(bitPattern: value | ~mask) : Int32(bitPattern: value)
            bit += bitWidth
        }
        return codes
    }
}
