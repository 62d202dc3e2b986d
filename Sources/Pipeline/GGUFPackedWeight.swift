import Inference
import ModelFormats
import TensorCore

/// GGUF blocks straight into the kernels' packed form, with no float copy (ggml-common.h `block_q8_0`, `block_q4_0`,
/// `block_q4_1`: 32 elements per block, d and m in float16; a Q4 block's byte j holds element j in its low nibble and
/// element j + 16 in its high one):
/// - Q8_0 (x = d·q) → `.int8`, groups of 32, scale d;
/// - Q4_0 (x = d·(q − 8)) → `.uint4`, scale d, offset −8·d (exact: a power-of-two multiple);
/// - Q4_1 (x = d·q + m) → `.uint4`, scale d, offset m.
/// The values are those `GGMLDequantize` gives, up to the kernels' use of a fused multiply-add for Q4_1's d·q + m.
enum GGUFPackedWeight {
    /// Whether tensors of `type` load packed.
    static func isPackable(_ type: GGMLType) -> Bool { type == .q8_0 || type == .q4_0 || type == .q4_1 }

    /// The packed form of the 2-D tensor `info` (`[rows, columns]`, Hugging Face order), its rows moved so that GGUF
    /// row r lands in row `rowOrder[r]` when given (q/k rotary order, `RotaryPermutation`).
    /// - Throws: `FormatError.unsupportedType` for another type or shape; `QuantError` from `PackedWeight`.
    static func pack(_ file: GGUFFile, _ info: GGUFFile.TensorInfo, rowOrder: [Int]?) throws -> PackedWeight {
        let shape = info.shape
        guard isPackable(info.type), shape.count == 2, shape[1] % 32 == 0 else {
            throw FormatError.unsupportedType(file: file.path, tensor: info.name, type: "\(info.type.name) \(shape) (packed loading)")
        }
        let rows = shape[0], columns = shape[1], blocksPerRow = columns / 32
        precondition(rowOrder == nil || rowOrder!.count == rows)
        let (_, blockBytes) = info.type.blockLayout
        let raw = file.rawBytes(info)
        precondition(raw.count == rows * blocksPerRow * blockBytes)
        var scales = [Float](repeating: 0, count: rows * blocksPerRow)
        var offsets = [Float](repeating: 0, count: info.type == .q8_0 ? 0 : rows * blocksPerRow)
        @inline(__always) func half(_ at: Int) -> Float {
            Float(Float16(bitPattern: UInt16(raw[at]) | UInt16(raw[at + 1]) << 8))
        }
        let type = info.type
        /// Calls `body(block byte offset, slot, first output element)` for every block, in GGUF order.
        func forEachBlock(_ body: (Int, Int, Int) -> Void) {
            for row in 0..<rows {
                let target = rowOrder?[row] ?? row
                for block in 0..<blocksPerRow {
                    body((row * blocksPerRow + block) * blockBytes, target * blocksPerRow + block, target * columns + block * 32)
                }
            }
        }
        if type == .q8_0 {
            // One byte per code, decoded straight into the signed array the packer reads (no second copy).
            var codes = [Int8](repeating: 0, count: rows * columns)
            codes.withUnsafeMutableBufferPointer { codes in
                forEachBlock { at, slot, out in
                    scales[slot] = half(at)
                    for j in 0..<32 { codes[out + j] = Int8(bitPattern: raw[at + 2 + j]) }
                }
            }
            return try PackedWeight(int8: codes, scales: scales, outFeatures: rows, inFeatures: columns, groupSize: 32)
        }
        var codes = [UInt8](repeating: 0, count: rows * columns)
        codes.withUnsafeMutableBufferPointer { codes in
            forEachBlock { at, slot, out in
                let d = half(at)
                scales[slot] = d
                offsets[slot] = type == .q4_1 ? half(at + 2) : -8 * d
                let first = type == .q4_1 ? at + 4 : at + 2
                for j in 0..<16 {
                    let byte = raw[first + j]
                    codes[out + j] = byte & 0x0F
                    codes[out + j + 16] = byte >> 4
                }
            }
        }
        return try PackedWeight(uint4: codes, scales: scales, offsets: offsets, outFeatures: rows, inFeatures: columns, groupSize: 32)
    }
}
