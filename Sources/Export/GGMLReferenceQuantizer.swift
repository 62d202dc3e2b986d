import ModelFormats
import TensorCore

/// Float weights to ggml types the way llama.cpp's reference quantizers do it (`ggml-quants.c`,
/// `quantize_row_{q8_0,q4_0,q4_1,q5_0,q5_1}_ref`, no importance matrix), plus the float types F32, F16 and BF16, and
/// the K-quants Q4_K, Q5_K and Q6_K through `GGMLKQuantReferenceQuantizer`.
/// This is the `--requantize` / float-source path; a quantized layer's own codes go through `GGMLCodeConversion`.
///
/// Per block of 32, as llama.cpp computes it (d is chosen in float32 and only stored in float16, so codes are picked
/// against the unrounded d):
/// - Q8_0: d = max|x| / 127, q = round-half-away(x / d).
/// - Q4_0 / Q5_0: v = the element of largest magnitude (sign kept), d = v / −8 (−16), q = min(15 (31),
///   trunc(x / d + 8.5 (16.5))).
/// - Q4_1 / Q5_1: d = (max − min) / 15 (31), m = min, q = min(15 (31), trunc((x − min) / d + 0.5)).
public enum GGMLReferenceQuantizer {
    /// Encodes `tensor` (`[rows, rowLength]`, or any shape whose last dimension is the row) as `type`, row by row in
    /// parallel. Same bytes as `encodeReference`.
    /// - Precondition: the row length is a multiple of the type's block.
    public static func encode(_ tensor: Tensor, as type: GGMLType) -> [UInt8] {
        let rowLength = tensor.shape.last ?? 1
        let rows = tensor.elementCount / max(rowLength, 1)
        guard let rowBytes = type.byteCount(elementCount: rowLength) else {
            preconditionFailure("GGMLReferenceQuantizer: rows of \(rowLength) are not whole \(type.name) blocks")
        }
        var out = [UInt8](repeating: 0, count: rows * rowBytes)
        tensor.scalars.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { destination in
                nonisolated(unsafe) let src = source
                nonisolated(unsafe) let dst = destination
                Parallel.forEachChunk(count: rows, minimumPerChunk: max(1, 16_384 / max(rowLength, 1))) { chunk in
                    var bytes: [UInt8] = []
                    bytes.reserveCapacity(rowBytes)
                    for row in chunk {
                        bytes.removeAll(keepingCapacity: true)
                        appendRow(type, src[(row * rowLength)..<((row + 1) * rowLength)], to: &bytes)
                        for (offset, byte) in bytes.enumerated() { dst[row * rowBytes + offset] = byte }
                    }
                }
            }
        }
        return out
    }

    /// The plain sequential version of `encode`, one block after another.
    public static func encodeReference(_ tensor: Tensor, as type: GGMLType) -> [UInt8] {
        var out: [UInt8] = []
        appendRow(type, tensor.scalars[...], to: &out)
        return out
    }

    /// Appends the encoding of `values` (a whole number of blocks) to `out`.
    public static func appendRow(_ type: GGMLType, _ values: some Collection<Float>, to out: inout [UInt8]) {
        switch type {
        case .f32:
            for x in values {
                for shift in [0, 8, 16, 24] { out.append(UInt8(truncatingIfNeeded: x.bitPattern >> UInt32(shift))) }
            }
        case .f16:
            for x in values { out.appendHalf(Float16(x)) }
        case .bf16:
            for x in values {
                let bits = BFloat16(x).bitPattern
                out.append(UInt8(truncatingIfNeeded: bits))
                out.append(UInt8(truncatingIfNeeded: bits >> 8))
            }
        case .q8_0, .q4_0, .q4_1, .q5_0, .q5_1:
            let block = Array(values)
            precondition(block.count % GGMLBlockEncoder.blockElementCount == 0)
            for start in stride(from: 0, to: block.count, by: GGMLBlockEncoder.blockElementCount) {
                appendBlock(type, block[start..<(start + GGMLBlockEncoder.blockElementCount)], to: &out)
            }
        case .q4_K, .q5_K, .q6_K:
            GGMLKQuantReferenceQuantizer.appendRow(type, Array(values), to: &out)
        default:
            preconditionFailure("GGMLReferenceQuantizer: \(type.name) is not a type it writes")
        }
    }

    /// One block of 32, as llama.cpp's `quantize_row_*_ref`.
    static func appendBlock(_ type: GGMLType, _ x: ArraySlice<Float>, to out: inout [UInt8]) {
        var codes = [Int32](repeating: 0, count: x.count)
        switch type {
        case .q8_0:
            let amax = x.reduce(0) { Swift.max($0, abs($1)) }
            let d = amax / 127
            let id = d != 0 ? 1 / d : 0
            for (j, v) in x.enumerated() { codes[j] = Int32((v * id).rounded(.toNearestOrAwayFromZero)) }
            GGMLBlockEncoder.appendBlock(type, d: Float16(d), codes: codes, to: &out)
        case .q4_0, .q5_0:
            var amax: Float = 0, signedMax: Float = 0
            for v in x where amax < abs(v) { (amax, signedMax) = (abs(v), v) }
            let half: Float = type == .q4_0 ? 8 : 16
            let d = signedMax / -half
            let id = d != 0 ? 1 / d : 0
            let top = GGMLBlockEncoder.codeRange(type).upperBound
            for (j, v) in x.enumerated() { codes[j] = Swift.min(top, truncated(v * id + half + 0.5)) }
            GGMLBlockEncoder.appendBlock(type, d: Float16(d), codes: codes, to: &out)
        case .q4_1, .q5_1:
            let low = x.min() ?? 0, high = x.max() ?? 0
            let top = GGMLBlockEncoder.codeRange(type).upperBound
            let d = (high - low) / Float(top)
            let id = d != 0 ? 1 / d : 0
            for (j, v) in x.enumerated() { codes[j] = Swift.min(top, truncated((v - low) * id + 0.5)) }
            GGMLBlockEncoder.appendBlock(type, d: Float16(d), m: Float16(low), codes: codes, to: &out)
        default:
            preconditionFailure("GGMLReferenceQuantizer: \(type.name) is not a block type")
        }
    }

    /// C's `(int8_t)` cast of a value that is in range for finite inputs; clamped so a NaN or huge value cannot trap.
    @inline(__always)
    static func truncated(_ value: Float) -> Int32 {
        guard value.isFinite else { return 0 }
        return Int32(Swift.min(Swift.max(value, 0), 127).rounded(.towardZero))
    }
}
