import ModelFormats
import TensorCore
import TestSupport
import Testing

@testable import Export

/// Each block type written by `GGMLBlockEncoder` (from parts) and `GGMLReferenceQuantizer` (from floats) decodes
/// through ModelFormats' `GGMLDequantize` (llama.cpp's `dequantize_row_*`) to what it was meant to hold.
@Suite struct GGMLBlockEncoderTests {
    static func decode(_ type: GGMLType, _ bytes: [UInt8], count: Int) -> [Float] {
        var out = [Float](repeating: 0, count: count)
        bytes.withUnsafeBytes { raw in
            out.withUnsafeMutableBufferPointer { GGMLDequantize.decode(type, source: raw, into: $0) }
        }
        return out
    }

    @Test(arguments: GGMLBlockEncoder.blockTypes)
    func blocksFromPartsRoundTripExactly(type: GGMLType) throws {
        var rng = SplitMix64(seed: UInt64(type.rawValue))
        let range = GGMLBlockEncoder.codeRange(type)
        var bytes: [UInt8] = []
        var expected: [Float] = []
        for block in 0..<5 {
            // Every code of the range appears (block 0 walks it), the rest are random.
            let codes = (0..<32).map { j -> Int32 in
                block == 0
                    ? range.lowerBound + Int32(j) % Int32(range.count)
                    : range.lowerBound + Int32(rng.next() % UInt64(range.count))
            }
            let d = Float16(Float(block + 1) * 0.0123)
            let m = Float16(GGMLBlockEncoder.hasMinimum(type) ? -Float(block) * 0.031 : 0)
            GGMLBlockEncoder.appendBlock(type, d: d, m: m, codes: codes, to: &bytes)
            let offset = GGMLBlockEncoder.codeOffset(type)
            expected += codes.map { Float(d) * Float($0 - offset) + Float(m) }
        }
        #expect(bytes.count == type.byteCount(elementCount: 160))
        let decoded = Self.decode(type, bytes, count: 160)
        #expect(decoded == expected, "largest difference \(Tolerance.maxAbsDifference(decoded, expected))")
    }

    /// The K-quants (super-blocks of 256) are GGMLKQuantTests'.
    @Test(arguments: GGUFExport.writableTypes.filter { $0.blockLayout.elementCount <= 32 })
    func floatsRoundTripWithinHalfAStep(type: GGMLType) throws {
        let rows = 3, rowLength = 96
        var values = ExportFixtures.values(rows * rowLength, seed: 7, scale: 0.2)
        values[5] = 0  // an exact zero and a block of zeros (d = 0) must survive
        for j in 64..<96 { values[j] = 0 }
        let tensor = Tensor(shape: [rows, rowLength], scalars: values)
        let bytes = GGMLReferenceQuantizer.encode(tensor, as: type)
        #expect(bytes == GGMLReferenceQuantizer.encodeReference(tensor, as: type))
        let decoded = Self.decode(type, bytes, count: values.count)
        for block in stride(from: 0, to: values.count, by: 32) {
            let x = Array(values[block..<(block + 32)]), y = Array(decoded[block..<(block + 32)])
            let bound: Float
            switch type {
            case .f32: bound = 0
            case .f16, .bf16: bound = x.map { abs($0) }.max()! * (type == .f16 ? 0x1p-11 : 0x1p-8)
            default:
                let levels = Float(GGMLBlockEncoder.codeRange(type).count - 1)
                let step = (x.max()! - x.min()!) / (GGMLBlockEncoder.hasMinimum(type) ? levels : levels / 2)
                // Half a step, plus float16 storage of d (2⁻¹¹ relative, times up to 16 steps) and of m.
                bound = step / 2 + step * 16 * 0x1p-11 + abs(x.min()!) * 0x1p-11 + 1e-7
            }
            #expect(Tolerance.maxAbsDifference(x, y) <= bound, "\(type.name) block at \(block)")
        }
    }

    @Test func q8_0MatchesLlamaCppRounding() throws {
        // llama.cpp rounds half away from zero (roundf): 0.5·d → 1, −0.5·d → −1, with d = 127/127 = 1.
        var x = [Float](repeating: 0, count: 32)
        x[0] = 127; x[1] = 0.5; x[2] = -0.5; x[3] = 1.5; x[4] = -126.5
        let bytes = GGMLReferenceQuantizer.encodeReference(Tensor(shape: [32], scalars: x), as: .q8_0)
        #expect(Array(bytes[2..<7]).map { Int8(bitPattern: $0) } == [127, 1, -1, 2, -127])
    }

    @Test func q4_0TakesTheSignedMaximum() throws {
        // d = v / −8 for the element of largest magnitude: a positive maximum gives a negative d and code 0.
        var x = [Float](repeating: 0, count: 32)
        x[0] = 8; x[1] = -4
        let bytes = GGMLReferenceQuantizer.encodeReference(Tensor(shape: [32], scalars: x), as: .q4_0)
        #expect(Float(Float16(bitPattern: UInt16(bytes[0]) | UInt16(bytes[1]) << 8)) == -1)
        #expect(Self.decode(.q4_0, bytes, count: 32)[0...1] == [8, -4])
    }
}
