import QuantCore
import TensorCore

/// From Quanta's stored codes (`QuantizedTensor`) to the kernels' packed form, value for value:
/// - int8, symmetric (every zero point 0), per tensor / per output channel / per group → `.int8`, x = s·q;
/// - int4 and uint4 per tensor / per output channel / per group, symmetric or not → `.uint4` with the unsigned code
///   u (u = q + 8 for int4, whose two's-complement nibble is u ^ 8) and offset = −s·(zero point + 8) for int4,
///   −s·zero point for uint4: x = s·u + offset = s·(q − zp). Symmetric int4 gets offset −8·s exactly (a power-of-two
///   multiple), so a fused multiply-add would give exactly s·q; `PackedWeight.dequantized()` multiplies then adds,
///   and an asymmetric offset is s·zp rounded once, so 4-bit values may differ from `QuantizedTensor.dequantized()`
///   in the last bit (int8 and FP8 values are bit for bit the same);
/// - FP8 E4M3 per tensor / per output channel / per group → `.fp8e4m3`, x = s·fp8(code).
/// A per-tensor scale becomes one scale per row (groupSize = inFeatures), as a per-channel one does.
extension PackedWeight {
    /// The packed form of a quantized weight `[outFeatures, inFeatures]`, nil when its format or layout has none
    /// (int2/int3, uint8, asymmetric int8, FP8 E5M2, float casts, MX, scales along the input axis).
    /// - Throws: `QuantError.shapeMismatch` when the codes or parameters do not fit the shape (a corrupted file).
    public static func packing(_ q: QuantizedTensor) throws(QuantError) -> PackedWeight? {
        guard q.shape.count == 2, let parameters = q.parameters else { return nil }
        let rows = q.shape[0], columns = q.shape[1], count = rows * columns
        guard rows > 0, columns > 0 else { return nil }
        let scheme = q.scheme, type = scheme.dataType
        // Per-row groups: (groupSize, scale index of (row, group)).
        let groupSize: Int, groupsPerRow: Int
        switch scheme.granularity {
        case .perTensor:
            guard parameters.scales.count == 1 else { return nil }
            (groupSize, groupsPerRow) = (columns, 1)
        case .perChannel:
            guard scheme.axis == 0, parameters.scales.count == rows else { return nil }
            (groupSize, groupsPerRow) = (columns, 1)
        case .perGroup:
            guard let size = scheme.groupSize, size > 0 else { return nil }
            groupSize = min(size, columns)
            groupsPerRow = (columns + size - 1) / size
            guard parameters.scales.count == rows * groupsPerRow else { return nil }
        case .perToken, .perBlock:
            return nil
        }
        let slots = rows * groupsPerRow
        func expand(_ values: [Float]) -> [Float] {
            values.count == slots ? values : [Float](repeating: values[0], count: slots)
        }
        func expand(_ values: [Int32]) -> [Int32] {
            values.count == slots ? values : [Int32](repeating: values.first ?? 0, count: slots)
        }
        let scales = expand(parameters.scales)
        let zeroPoints = parameters.zeroPoints.isEmpty ? [Int32](repeating: 0, count: slots) : expand(parameters.zeroPoints)
        switch type {
        case .int8:
            guard zeroPoints.allSatisfy({ $0 == 0 }) else { return nil }
            guard q.codes.count == count else { throw .shapeMismatch("\(q.codes.count) int8 codes for \(q.shape)") }
            let codes = q.codes.map { Int8(bitPattern: $0) }
            return try PackedWeight(int8: codes, scales: scales, outFeatures: rows, inFeatures: columns, groupSize: groupSize)
        case .int4, .uint4:
            guard q.codes.count == (count + 1) / 2 else { throw .shapeMismatch("\(q.codes.count) 4-bit code bytes for \(q.shape)") }
            let flip: UInt8 = type == .int4 ? 0x8 : 0
            // LSB-first packing (`BitPacking`): element 2i in the low nibble of byte i, 2i + 1 in the high one.
            let codes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
                q.codes.withUnsafeBufferPointer { bytes in
                    for i in 0..<count {
                        let byte = bytes[i >> 1]
                        buffer[i] = ((i & 1 == 0 ? byte : byte >> 4) & 0x0F) ^ flip
                    }
                }
                initialized = count
            }
            let shift: Int32 = type == .int4 ? 8 : 0
            let offsets = (0..<slots).map { -scales[$0] * Float(zeroPoints[$0] + shift) }
            return try PackedWeight(
                uint4: codes, scales: scales, offsets: offsets, outFeatures: rows, inFeatures: columns, groupSize: groupSize)
        case .fp8_e4m3:
            guard zeroPoints.allSatisfy({ $0 == 0 }) else { return nil }
            guard q.codes.count == count else { throw .shapeMismatch("\(q.codes.count) FP8 codes for \(q.shape)") }
            return try PackedWeight(fp8e4m3: q.codes, scales: scales, outFeatures: rows, inFeatures: columns, groupSize: groupSize)
        default:
            return nil
        }
    }
}
