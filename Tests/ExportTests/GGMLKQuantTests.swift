import ModelFormats
import QuantCore
import TensorCore
import TestSupport
import Testing

@testable import Export

/// The K-quants: super-blocks written from parts (`GGMLKQuantEncoder`) and from floats (`GGMLKQuantReferenceQuantizer`)
/// decode through ModelFormats' `GGMLDequantize` to what they were meant to hold; saved codes carried with their
/// scales re-quantized (`GGMLKQuantCodeConversion`) stay within the bound it documents.
@Suite struct GGMLKQuantTests {
    static func decode(_ type: GGMLType, _ bytes: [UInt8], count: Int) -> [Float] {
        GGMLBlockEncoderTests.decode(type, bytes, count: count)
    }

    /// A super-block's parts from a seeded generator; block 0 walks every code and every 6-bit scale value.
    static func parts(_ type: GGMLType, block: Int, rng: inout SplitMix64) -> (codes: [Int32], scales: [Int], mins: [Int]) {
        let range = GGMLKQuantEncoder.codeRange(type)
        let codes = (0..<256).map { j -> Int32 in
            block == 0
                ? range.lowerBound + Int32(j) % Int32(range.count)
                : range.lowerBound + Int32(rng.next() % UInt64(range.count))
        }
        let count = type == .q6_K ? 16 : 8
        let scales = (0..<count).map { j in
            type == .q6_K ? (block == 0 ? j * 17 - 128 : Int(rng.next() % 256) - 128) : (block == 0 ? j * 9 : Int(rng.next() % 64))
        }
        let mins = (0..<8).map { j in block == 0 ? 63 - j * 9 : Int(rng.next() % 64) }
        return (codes, scales, mins)
    }

    @Test(arguments: GGMLKQuantEncoder.blockTypes)
    func superBlocksFromPartsRoundTripExactly(type: GGMLType) throws {
        var rng = SplitMix64(seed: UInt64(type.rawValue))
        var bytes: [UInt8] = []
        var expected: [Float] = []
        for block in 0..<4 {
            let (codes, scales, mins) = Self.parts(type, block: block, rng: &rng)
            let d = Float16(Float(block + 1) * 0.00123), dmin = Float16(Float(block) * 0.00071)
            if type == .q6_K {
                GGMLKQuantEncoder.appendQ6KBlock(d: d, scales: scales.map { Int8($0) }, codes: codes, to: &bytes)
                // dequantize_row_q6_K: (d·sc)·(q − 32), sub-blocks of 16.
                expected += (0..<256).map { Float(d) * Float(scales[$0 / 16]) * Float(codes[$0] - 32) }
            } else {
                GGMLKQuantEncoder.appendBlock(
                    type, d: d, dmin: dmin, scales: scales.map { UInt8($0) }, minimums: mins.map { UInt8($0) },
                    codes: codes, to: &bytes)
                // dequantize_row_q4_K / q5_K: (d·sc)·q − dmin·m, sub-blocks of 32.
                expected += (0..<256).map {
                    Float(d) * Float(scales[$0 / 32]) * Float(codes[$0]) - Float(dmin) * Float(mins[$0 / 32])
                }
            }
        }
        #expect(bytes.count == type.byteCount(elementCount: 1024))
        let decoded = Self.decode(type, bytes, count: 1024)
        #expect(decoded == expected, "largest difference \(Tolerance.maxAbsDifference(decoded, expected))")
    }

    @Test func nearestIntRoundsHalfToEvenAsGGML() {
        for (x, n) in [(0.5, 0), (1.5, 2), (2.5, 2), (-0.5, 0), (-1.5, -2), (63.49, 63), (-128.5, -128), (7.0, 7)]
        as [(Float, Int32)] {
            #expect(GGMLKQuantReferenceQuantizer.nearestInt(x) == n, "\(x)")
        }
        var rng = SplitMix64(seed: 3)
        for _ in 0..<10_000 {
            let x = Fixtures.uniform(&rng) * 4_000_000
            #expect(GGMLKQuantReferenceQuantizer.nearestInt(x) == Int32(x.rounded(.toNearestOrEven)))
        }
    }

    @Test(arguments: GGMLKQuantEncoder.blockTypes)
    func floatsRoundTripWithinTheSubBlockStep(type: GGMLType) throws {
        let rows = 3, rowLength = 512
        var values = ExportFixtures.values(rows * rowLength, seed: 11, scale: 0.2)
        for j in 256..<512 { values[j] = 0 }  // an all-zero super-block must decode to zeros
        for j in 600..<616 { values[j] = 0.05 }  // a constant sub-block
        values[700] = 3  // an outlier
        let tensor = Tensor(shape: [rows, rowLength], scalars: values)
        let bytes = GGMLReferenceQuantizer.encode(tensor, as: type)
        #expect(bytes.count == type.byteCount(elementCount: values.count))
        #expect(bytes == GGMLReferenceQuantizer.encodeReference(tensor, as: type))
        let decoded = Self.decode(type, bytes, count: values.count)
        #expect(decoded[256..<512].allSatisfy { $0 == 0 })
        let subBlock = GGMLKQuantEncoder.subBlockElementCount(type)
        let levels = Float(GGMLKQuantEncoder.codeRange(type).count - 1)
        for start in stride(from: 0, to: values.count, by: 256) {
            let x = Array(values[start..<(start + 256)]), y = Array(decoded[start..<(start + 256)])
            // Each sub-block's step is at most the super-block's range over the code count; re-quantizing the
            // sub-block scale (to 6 or 8 bits of the largest) and float16 d add at most about as much again.
            let range = x.map { abs($0) }.max()! * (type == .q6_K ? 2 : 1) + (x.max()! - x.min()!)
            let bound = 2 * range / levels + 1e-6
            #expect(Tolerance.maxAbsDifference(x, y) <= bound, "\(type.name) super-block at \(start)")
            for sub in stride(from: 0, to: 256, by: subBlock) {
                let xs = x[sub..<(sub + subBlock)], ys = y[sub..<(sub + subBlock)]
                // The least-squares scale search never does worse than half the sub-block's own range per level
                // by more than the 6-bit scale rounding: a loose sanity bound on the search itself.
                let own = (xs.max()! - min(0, xs.min()!)) / levels
                #expect(
                    Tolerance.maxAbsDifference(Array(xs), Array(ys)) <= own + bound / 2,
                    "\(type.name) sub-block at \(start + sub)")
            }
        }
    }

    @Test func fallbackTypesFollowLlamaQuantize() {
        #expect(GGMLTypeMapping.fallbackType(.q4_K, rowLength: 576) == .q5_0)
        #expect(GGMLTypeMapping.fallbackType(.q5_K, rowLength: 576) == .q5_1)
        #expect(GGMLTypeMapping.fallbackType(.q6_K, rowLength: 576) == .q8_0)
        #expect(GGMLTypeMapping.fallbackType(.q6_K, rowLength: 100) == .f16)
        #expect(GGMLTypeMapping.fallbackType(.q4_K, rowLength: 1536) == .q4_K)
        #expect(GGMLTypeMapping.fallbackType(.q4_0, rowLength: 576) == .q4_0)
    }

    @Test func schemesCarriedIntoKQuants() throws {
        let asymmetric = try ExportFixtures.int4(groupSize: 128, symmetric: false)
        let symmetric = try ExportFixtures.int4(groupSize: 16, symmetric: true)
        #expect(GGMLTypeMapping.carriesCodes(asymmetric, shape: [8, 512], into: .q4_K))
        #expect(GGMLTypeMapping.carriesCodes(asymmetric, shape: [8, 512], into: .q5_K))
        #expect(!GGMLTypeMapping.carriesCodes(asymmetric, shape: [8, 512], into: .q6_K))
        #expect(!GGMLTypeMapping.carriesCodes(asymmetric, shape: [8, 576], into: .q4_K))
        #expect(GGMLTypeMapping.carriesCodes(symmetric, shape: [8, 256], into: .q6_K))
        #expect(!GGMLTypeMapping.carriesCodes(symmetric, shape: [8, 256], into: .q4_K))  // groups of 16 < 32
        #expect(!GGMLTypeMapping.carriesCodes(try ExportFixtures.int8(), shape: [8, 256], into: .q4_K))
        #expect(!GGMLTypeMapping.carriesCodes(try ExportFixtures.int8(), shape: [8, 256], into: .q6_K))
    }

    /// Per output channel, every sub-block of a row has the same scale, so it is stored as 63 (127) times a float16
    /// d: the codes survive and the weights move by float16 rounding only, as in the exact types.
    @Test(arguments: [(GGMLType.q4_K, false), (.q5_K, false), (.q6_K, true)])
    func perChannelCodesAreCarriedUnchanged(type: GGMLType, symmetric: Bool) throws {
        let scheme = try QuantScheme(
            dataType: symmetric ? .int4 : .uint4, granularity: .perChannel, isSymmetric: symmetric)
        let weight = Tensor(shape: [5, 512], scalars: ExportFixtures.values(5 * 512, seed: 4, scale: 0.3))
        let stored = try TensorQuantizer.quantize(weight, scheme: scheme)
        let (bytes, change) = try GGMLKQuantCodeConversion.encode(stored, as: type, name: "w")
        let decoded = Self.decode(type, bytes, count: weight.elementCount)
        let dequantized = try stored.dequantized().scalars
        // 15 codes × float16 rounding of d (2⁻¹¹) and of the scale ratio: well under a tenth of a step.
        #expect(change.maxChangeInSteps < 0.1, "\(change)")
        #expect(Tolerance.maxAbsDifference(decoded, dequantized) <= change.maxAbsoluteChange * (1 + 1e-6) + 1e-9)
    }

    /// Groups of 32 with their own scales: each scale is rounded to a 6-bit (8-bit) multiple of the super-block's d,
    /// and each code re-chosen; the report's change is what the decoder gives.
    @Test(arguments: [(GGMLType.q4_K, 32, false), (.q5_K, 64, false), (.q6_K, 32, true)])
    func groupCodesAreCarriedWithRoundedScales(type: GGMLType, groupSize: Int, symmetric: Bool) throws {
        let scheme = try ExportFixtures.int4(groupSize: groupSize, symmetric: symmetric)
        var values = ExportFixtures.values(6 * 512, seed: 9, scale: 0.3)
        for j in 0..<32 { values[j] *= 0.1 }  // a group with a small scale next to the others
        let weight = Tensor(shape: [6, 512], scalars: values)
        let stored = try TensorQuantizer.quantize(weight, scheme: scheme)
        let (bytes, change) = try GGMLKQuantCodeConversion.encode(stored, as: type, name: "w")
        #expect(bytes.count == type.byteCount(elementCount: weight.elementCount))
        let decoded = Self.decode(type, bytes, count: weight.elementCount)
        let dequantized = try stored.dequantized().scalars
        let difference = Tolerance.maxAbsDifference(decoded, dequantized)
        #expect(abs(difference - change.maxAbsoluteChange) <= 1e-6, "report \(change.maxAbsoluteChange), decoded \(difference)")
        // Scales within a super-block differ by up to 10×; a 6-bit scale keeps the weights within a few percent.
        #expect(change.relativeRMSChange < (type == .q6_K ? 0.01 : 0.03), "\(change)")
        // Never worse than re-quantizing Quanta's dequantized weights with llama.cpp's own reference quantizer.
        var reference = WeightChange()
        let requantized = Self.decode(
            type, GGMLReferenceQuantizer.encode(Tensor(shape: [6, 512], scalars: dequantized), as: type),
            count: weight.elementCount)
        reference.add(original: dequantized, exported: requantized)
        #expect(change.relativeRMSChange <= reference.relativeRMSChange, "carried \(change), re-quantized \(reference)")
    }
}
