/// The K-quant block decoders, matching llama.cpp's `dequantize_row_q4_K`, `_q5_K` and `_q6_K` (ggml-quants.c) operation
/// for operation, so that the floats are bit-identical to llama.cpp's and gguf-py's (`ggml-common.h`, QK_K = 256):
///
/// - Q4_K (144 bytes): d, dmin (float16); `scales[12]`, eight 6-bit sub-block scales sc and eight 6-bit mins m
///   (`get_scale_min_k4`); `qs[128]`. Sub-block j (32 elements) decodes x = (d·sc_j)·q − dmin·m_j, q in 0…15; byte
///   32c + l of `qs` holds element 64c + l in its low nibble and element 64c + 32 + l in its high nibble.
/// - Q5_K (176 bytes): d, dmin, `scales[12]` as Q4_K, `qh[32]`, `qs[128]`; q in 0…31, its fifth bit for element
///   64c + l (64c + 32 + l) is bit 2c (2c + 1) of `qh[l]`.
/// - Q6_K (210 bytes): `ql[128]`, `qh[64]`, `scales[16]` (int8, one per 16 elements), d; x = (d·sc)·(q − 32), q in 0…63.
///   In each half h of 128 elements, element 128h + 32k + l takes its low four bits from `ql[64h + l + 32(k & 1)]`
///   (low nibble for k < 2, high for k ≥ 2) and its top two from bits 2k…2k+1 of `qh[32h + l]`.
extension GGMLDequantize {
    /// Sub-block `j`'s 6-bit scale and minimum from a Q4_K/Q5_K `scales[12]` starting at `at` (`get_scale_min_k4`).
    @inline(__always)
    static func scaleAndMinimum(_ j: Int, _ bytes: UnsafeRawBufferPointer, at: Int) -> (scale: UInt8, minimum: UInt8) {
        if j < 4 { return (bytes[at + j] & 63, bytes[at + j + 4] & 63) }
        return (
            (bytes[at + j + 4] & 0x0F) | (bytes[at + j - 4] >> 6) << 4,
            (bytes[at + j + 4] >> 4) | (bytes[at + j] >> 6) << 4
        )
    }

    @inline(__always)
    static func decodeKQuantBlock(
        _ type: GGMLType, _ input: UnsafeRawBufferPointer, _ output: UnsafeMutableBufferPointer<Float>
    ) {
        switch type {
        case .q4_K, .q5_K:
            let d = half(input, 0), dmin = half(input, 2)
            let hasHighBits = type == .q5_K
            let qs = hasHighBits ? 48 : 16
            for c in 0..<4 {
                let (sc1, m1) = scaleAndMinimum(2 * c, input, at: 4)
                let (sc2, m2) = scaleAndMinimum(2 * c + 1, input, at: 4)
                let d1 = d * Float(sc1), min1 = dmin * Float(m1)
                let d2 = d * Float(sc2), min2 = dmin * Float(m2)
                for l in 0..<32 {
                    let byte = input[qs + 32 * c + l]
                    var low = UInt32(byte & 0x0F), high = UInt32(byte >> 4)
                    if hasHighBits {
                        let bits = input[16 + l]
                        if bits & (1 << (2 * c)) != 0 { low += 16 }
                        if bits & (1 << (2 * c + 1)) != 0 { high += 16 }
                    }
                    output[64 * c + l] = d1 * Float(low) - min1
                    output[64 * c + 32 + l] = d2 * Float(high) - min2
                }
            }
        case .q6_K:
            let d = half(input, 208)
            for h in 0..<2 {
                let ql = 64 * h, qh = 128 + 32 * h, sc = 192 + 8 * h
                for l in 0..<32 {
                    let bits = input[qh + l]
                    for k in 0..<4 {
                        let lowByte = input[ql + l + 32 * (k & 1)]
                        let low = k < 2 ? lowByte & 0x0F : lowByte >> 4
                        let q = Int(low | ((bits >> (2 * k)) & 3) << 4) - 32
                        let scale = Int8(bitPattern: input[sc + l / 16 + 2 * k])
                        output[128 * h + 32 * k + l] = d * Float(scale) * Float(q)
                    }
                }
            }
        default:
            preconditionFailure("GGMLDequantize: \(type.name) is not a K-quant it decodes")
        }
    }
}
