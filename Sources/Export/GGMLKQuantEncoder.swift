import ModelFormats

/// Writes one 256-element K-quant super-block from its parts, the inverse of `GGMLDequantize`'s K-quant decoders
/// (llama.cpp `ggml-common.h`: `block_q4_K`, `block_q5_K`, `block_q6_K`, QK_K = 256).
///
/// - Q4_K / Q5_K: eight sub-blocks of 32; x = (d·sc_j)·q − dmin·m_j with sc_j, m_j in 0…63 (6 bits each, packed into
///   12 bytes as `get_scale_min_k4` reads them) and q in 0…15 (Q4_K) or 0…31 (Q5_K).
/// - Q6_K: sixteen sub-blocks of 16; x = (d·sc_j)·(q − 32) with sc_j in −128…127 (int8) and q in 0…63.
///
/// The element order inside the block is the one `GGMLDequantize+KQuants.swift` documents.
public enum GGMLKQuantEncoder {
    /// Elements per super-block.
    public static let superBlockElementCount = 256

    /// The K-quant types this encoder writes.
    public static let blockTypes: [GGMLType] = [.q4_K, .q5_K, .q6_K]

    /// Elements per sub-block (one scale each): 32 for Q4_K/Q5_K, 16 for Q6_K.
    public static func subBlockElementCount(_ type: GGMLType) -> Int { type == .q6_K ? 16 : 32 }

    /// The stored code range of `type`.
    public static func codeRange(_ type: GGMLType) -> ClosedRange<Int32> {
        switch type {
        case .q4_K: 0...15
        case .q5_K: 0...31
        case .q6_K: 0...63
        default: preconditionFailure("GGMLKQuantEncoder: \(type.name) is not a K-quant it writes")
        }
    }

    /// Appends a Q4_K or Q5_K super-block.
    /// - Precondition: 8 `scales` and 8 `minimums` in 0…63; 256 `codes` within `codeRange(type)`.
    public static func appendBlock(
        _ type: GGMLType, d: Float16, dmin: Float16, scales: [UInt8], minimums: [UInt8], codes: [Int32],
        to out: inout [UInt8]
    ) {
        precondition(type == .q4_K || type == .q5_K, "GGMLKQuantEncoder: \(type.name) has no minimums")
        precondition(scales.count == 8 && minimums.count == 8 && codes.count == superBlockElementCount)
        precondition((scales + minimums).allSatisfy { $0 < 64 }, "GGMLKQuantEncoder: a 6-bit scale or minimum ≥ 64")
        let range = codeRange(type)
        precondition(codes.allSatisfy { range.contains($0) }, "GGMLKQuantEncoder: code outside \(range)")
        out.appendHalf(d)
        out.appendHalf(dmin)
        var packed = [UInt8](repeating: 0, count: 12)
        for j in 0..<8 {
            let (sc, m) = (scales[j], minimums[j])
            if j < 4 {
                packed[j] = sc
                packed[j + 4] = m
            } else {
                packed[j + 4] = (sc & 0x0F) | (m & 0x0F) << 4
                packed[j - 4] |= (sc >> 4) << 6
                packed[j] |= (m >> 4) << 6
            }
        }
        out += packed
        if type == .q5_K {
            var high = [UInt8](repeating: 0, count: 32)
            for c in 0..<4 {
                for l in 0..<32 {
                    if codes[64 * c + l] > 15 { high[l] |= 1 << (2 * c) }
                    if codes[64 * c + 32 + l] > 15 { high[l] |= 1 << (2 * c + 1) }
                }
            }
            out += high
        }
        for c in 0..<4 {
            for l in 0..<32 {
                out.append(UInt8(codes[64 * c + l] & 0x0F) | UInt8(codes[64 * c + 32 + l] & 0x0F) << 4)
            }
        }
    }

    /// Appends a Q6_K super-block.
    /// - Precondition: 16 `scales`; 256 `codes` in 0…63.
    public static func appendQ6KBlock(d: Float16, scales: [Int8], codes: [Int32], to out: inout [UInt8]) {
        precondition(scales.count == 16 && codes.count == superBlockElementCount)
        precondition(codes.allSatisfy { (0...63).contains($0) }, "GGMLKQuantEncoder: Q6_K code outside 0…63")
        var low = [UInt8](repeating: 0, count: 128), high = [UInt8](repeating: 0, count: 64)
        for h in 0..<2 {
            for l in 0..<32 {
                var bits: UInt8 = 0
                for k in 0..<4 {
                    let q = UInt8(codes[128 * h + 32 * k + l])
                    let at = 64 * h + l + 32 * (k & 1)
                    low[at] |= k < 2 ? q & 0x0F : (q & 0x0F) << 4
                    bits |= (q >> 4) << (2 * k)
                }
                high[32 * h + l] = bits
            }
        }
        out += low
        out += high
        for scale in scales { out.append(UInt8(bitPattern: scale)) }
        out.appendHalf(d)
    }
}
