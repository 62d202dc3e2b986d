import TensorCore

/// Block decoders for the ggml types Quanta reads, matching llama.cpp's `dequantize_row_*` (ggml-quants.c):
/// Q8_0: x = d·q; Q4_0: x = d·(q − 8); Q4_1: x = d·q + m; Q5_0: x = d·(q − 16); Q5_1: x = d·q + m; one 32-element
/// block each, d and m in float16, byte j holding element j in its low nibble and element j + 16 in its high nibble;
/// Q5's fifth bits in a little-endian u32 `qh` after d (and m), bit j for element j (`ggml-common.h` block_q5_0/1).
/// The K-quants (Q4_K, Q5_K, Q6_K: super-blocks of 256) are in `GGMLDequantize+KQuants.swift`.
public enum GGMLDequantize {
    /// Decodes `elementCount` elements of `type` from `source` into `destination`.
    /// - Precondition: `source` holds exactly `type.byteCount(elementCount:)` bytes; `type.isDequantizable`.
    public static func decode(
        _ type: GGMLType, source: UnsafeRawBufferPointer, into destination: UnsafeMutableBufferPointer<Float>
    ) {
        let elementCount = destination.count
        precondition(type.byteCount(elementCount: elementCount) == source.count)
        let (blockElements, blockBytes) = type.blockLayout
        let blockCount = elementCount / blockElements
        nonisolated(unsafe) let src = source
        nonisolated(unsafe) let dst = destination
        Parallel.forEachChunk(count: blockCount, minimumPerChunk: 4096) { blocks in
            for block in blocks {
                let input = UnsafeRawBufferPointer(rebasing: src[(block * blockBytes)..<((block + 1) * blockBytes)])
                let output = UnsafeMutableBufferPointer(rebasing: dst[(block * blockElements)..<((block + 1) * blockElements)])
                decodeBlock(type, input, output)
            }
        }
    }

    @inline(__always)
    static func half(_ bytes: UnsafeRawBufferPointer, _ at: Int) -> Float {
        Float(Float16(bitPattern: UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8))
    }

    @inline(__always)
    static func decodeBlock(_ type: GGMLType, _ input: UnsafeRawBufferPointer, _ output: UnsafeMutableBufferPointer<Float>) {
        switch type {
        case .f32:
            output[0] = Float(bitPattern: UInt32(input[0]) | UInt32(input[1]) << 8 | UInt32(input[2]) << 16 | UInt32(input[3]) << 24)
        case .f16:
            output[0] = half(input, 0)
        case .bf16:
            output[0] = BFloat16(bitPattern: UInt16(input[0]) | UInt16(input[1]) << 8).floatValue
        case .q8_0:
            let d = half(input, 0)
            for j in 0..<32 { output[j] = d * Float(Int8(bitPattern: input[2 + j])) }
        case .q4_0:
            let d = half(input, 0)
            for j in 0..<16 {
                let byte = input[2 + j]
                output[j] = d * Float(Int(byte & 0x0F) - 8)
                output[j + 16] = d * Float(Int(byte >> 4) - 8)
            }
        case .q4_1:
            let d = half(input, 0)
            let m = half(input, 2)
            for j in 0..<16 {
                let byte = input[4 + j]
                output[j] = d * Float(byte & 0x0F) + m
                output[j + 16] = d * Float(byte >> 4) + m
            }
        case .q5_0, .q5_1:
            let hasMinimum = type == .q5_1
            let d = half(input, 0)
            let m = hasMinimum ? half(input, 2) : 0
            let at = hasMinimum ? 4 : 2
            let high = UInt32(input[at]) | UInt32(input[at + 1]) << 8 | UInt32(input[at + 2]) << 16 | UInt32(input[at + 3]) << 24
            let offset: Float = hasMinimum ? 0 : 16
            for j in 0..<16 {
                let byte = input[at + 4 + j]
                let low = Float(UInt32(byte & 0x0F) | ((high >> UInt32(j)) & 1) << 4)
                let upper = Float(UInt32(byte >> 4) | ((high >> UInt32(j + 16)) & 1) << 4)
                // Q5_0 adds no minimum: adding 0 would turn llama.cpp's −0 (for a zero level and d < 0) into +0.
                output[j] = hasMinimum ? d * low + m : d * (low - offset)
                output[j + 16] = hasMinimum ? d * upper + m : d * (upper - offset)
            }
        case .q4_K, .q5_K, .q6_K:
            decodeKQuantBlock(type, input, output)
        default:
            preconditionFailure("GGMLDequantize: \(type.name) is not dequantizable; check isDequantizable first")
        }
    }
}

extension GGUFFile {
    /// Tensor `name` decoded to float32, shaped outermost first (Hugging Face order).
    /// - Throws: `missingTensor`, or `unsupportedType` for a ggml type Quanta cannot decode.
    public func tensor(_ name: String) throws(FormatError) -> Tensor {
        let info = try info(name)
        guard info.type.isDequantizable else {
            throw .unsupportedType(file: path, tensor: name, type: info.type.name)
        }
        var scalars = [Float](repeating: 0, count: info.elementCount)
        let raw = rawBytes(info)
        scalars.withUnsafeMutableBufferPointer { GGMLDequantize.decode(info.type, source: raw, into: $0) }
        return Tensor(shape: info.shape, scalars: scalars)
    }
}
