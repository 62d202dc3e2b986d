import ModelFormats

/// Writes one 32-element block of a ggml type from its parts, the inverse of `GGMLDequantize` (llama.cpp
/// `ggml-common.h`: `block_q8_0`, `block_q4_0`, `block_q4_1`, `block_q5_0`, `block_q5_1`).
///
/// Codes are given as ggml stores them: Q8_0 −128…127 (x = d·q); Q4_0 0…15 (x = d·(q − 8)); Q4_1 0…15
/// (x = d·q + m); Q5_0 0…31 (x = d·(q − 16)); Q5_1 0…31 (x = d·q + m). In the 4- and 5-bit types byte j holds element
/// j in its low nibble and element j + 16 in its high nibble; Q5's fifth bits form a little-endian u32 `qh`, bit j
/// for element j, between the scale(s) and the nibbles.
public enum GGMLBlockEncoder {
    /// Elements per block of every type here.
    public static let blockElementCount = 32

    /// The block types this encoder writes.
    public static let blockTypes: [GGMLType] = [.q8_0, .q4_0, .q4_1, .q5_0, .q5_1]

    /// The stored code range of `type`.
    public static func codeRange(_ type: GGMLType) -> ClosedRange<Int32> {
        switch type {
        case .q8_0: -128...127
        case .q4_0, .q4_1: 0...15
        case .q5_0, .q5_1: 0...31
        default: preconditionFailure("GGMLBlockEncoder: \(type.name) is not a block type it writes")
        }
    }

    /// The code that stands for 0·d in the symmetric types (what the stored code is offset by).
    public static func codeOffset(_ type: GGMLType) -> Int32 {
        switch type {
        case .q4_0: 8
        case .q5_0: 16
        default: 0
        }
    }

    /// Whether `type` stores a minimum m beside d.
    public static func hasMinimum(_ type: GGMLType) -> Bool { type == .q4_1 || type == .q5_1 }

    /// Appends one block: `d`, then `m` for Q4_1/Q5_1, then the codes.
    /// - Precondition: `codes.count == 32`, every code within `codeRange(type)`.
    public static func appendBlock(
        _ type: GGMLType, d: Float16, m: Float16 = 0, codes: some Collection<Int32>, to out: inout [UInt8]
    ) {
        precondition(codes.count == blockElementCount)
        let range = codeRange(type)
        precondition(
            codes.allSatisfy { range.contains($0) }, "GGMLBlockEncoder: code outside \(range) for \(type.name)")
        out.appendHalf(d)
        if hasMinimum(type) { out.appendHalf(m) }
        let q = Array(codes)
        switch type {
        case .q8_0:
            for code in q { out.append(UInt8(bitPattern: Int8(code))) }
        case .q4_0, .q4_1:
            for j in 0..<16 { out.append(UInt8(q[j]) | UInt8(q[j + 16]) << 4) }
        case .q5_0, .q5_1:
            var high: UInt32 = 0
            for j in 0..<32 where q[j] & 0x10 != 0 { high |= 1 << UInt32(j) }
            for shift in stride(from: 0, to: 32, by: 8) { out.append(UInt8(truncatingIfNeeded: high >> UInt32(shift))) }
            for j in 0..<16 { out.append(UInt8(q[j] & 0x0F) | UInt8(q[j + 16] & 0x0F) << 4) }
        default:
            preconditionFailure("GGMLBlockEncoder: \(type.name) is not a block type it writes")
        }
    }
}

extension [UInt8] {
    mutating func appendHalf(_ value: Float16) {
        append(UInt8(truncatingIfNeeded: value.bitPattern))
        append(UInt8(truncatingIfNeeded: value.bitPattern >> 8))
    }
}
