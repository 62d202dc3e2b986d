import Inference
import QuantCore
import Testing

/// Packing keeps every code and parameter, and bad input is refused with an error naming the problem.
struct PackedWeightTests {
    @Test(
        arguments: [PackedWeight.Format.int8, .uint4, .fp8e4m3],
        [(1, 1, 1), (17, 33, 32), (5, 100, 64), (33, 576, 128), (3, 20, 7)])
    func dequantizedValuesAreScaleTimesCodePlusOffset(format: PackedWeight.Format, shape: (Int, Int, Int)) throws {
        // Seeds 4...7: float and half parameters, symmetric and asymmetric uint4.
        for seed: UInt64 in 4...7 { try checkDequantized(format: format, shape: shape, seed: seed) }
    }

    func checkDequantized(format: PackedWeight.Format, shape: (Int, Int, Int), seed: UInt64) throws {
        let (outFeatures, inFeatures, groupSize) = shape
        let w = try PackedFixtures.weight(
            format, outFeatures: outFeatures, inFeatures: inFeatures, groupSize: groupSize, seed: seed)
        let groups = w.packed.groupCount
        #expect(groups == (inFeatures + groupSize - 1) / groupSize)
        let values = w.packed.dequantized()
        var row = [Float](repeating: 0, count: inFeatures)
        for out in 0..<outFeatures {
            row.withUnsafeMutableBufferPointer { w.packed.dequantizeRow(out, into: $0.baseAddress!) }
            for k in 0..<inFeatures {
                let code = w.codes[out * inFeatures + k]
                let index = out * groups + k / groupSize
                let expected: Float =
                    switch format {
                    case .int8: w.scales[index] * Float(Int8(bitPattern: code))
                    case .uint4: w.scales[index] * Float(code) + w.offsets[index]
                    case .fp8e4m3: w.scales[index] * MiniFloatFormat.e4m3.decode(code)
                    }
                #expect(values[out * inFeatures + k] == expected, "seed \(seed) row \(out) column \(k)")
                #expect(row[k] == expected, "seed \(seed) dequantizeRow \(out) column \(k)")
            }
        }
        let codeBytes = format == .uint4 ? (inFeatures + 7) / 8 * 4 : (inFeatures + 3) / 4 * 4
        #expect(w.packed.byteCount >= (outFeatures + 15) / 16 * 16 * codeBytes)
    }

    /// Parameters take the most compact exact storage: no offsets for symmetric uint4, halves when every value is
    /// one; the accessors return the values given.
    @Test func parametersAreStoredCompactlyAndExactly() throws {
        let scales: [Float] = [0.5, 0.25, 0.125, 3]
        let codes = [UInt8](repeating: 3, count: 4 * 64)
        func weight(_ scales: [Float], _ offsets: [Float]) throws -> PackedWeight {
            try PackedWeight(uint4: codes, scales: scales, offsets: offsets, outFeatures: 4, inFeatures: 64, groupSize: 64)
        }
        let codeBytes = 64 / 2 * 16  // one panel of 16 rows
        // Symmetric, half scales: 2 bytes per group, no offsets.
        let symmetric = try weight(scales, scales.map { -8 * $0 })
        #expect(symmetric.streamedByteCount == codeBytes + 2 * 16)
        // Asymmetric halves: scales and offsets as halves.
        let halves = try weight(scales, [1, -2, 0.375, 0])
        #expect(halves.streamedByteCount == codeBytes + 2 * 2 * 16)
        // A scale that is not a half keeps everything in float32.
        let floats = try weight([0.1, 0.25, 0.125, 3], [1, -2, 0.375, 0])
        #expect(floats.streamedByteCount == codeBytes + 2 * 4 * 16)
        for (w, expectedOffsets): (PackedWeight, [Float]) in [
            (symmetric, scales.map { -8 * $0 }), (halves, [1, -2, 0.375, 0]), (floats, [1, -2, 0.375, 0]),
        ] {
            for row in 0..<4 { #expect(w.offset(row: row, group: 0) == expectedOffsets[row]) }
        }
        #expect(floats.scale(row: 0, group: 0) == 0.1)
        #expect(symmetric.scale(row: 3, group: 0) == 3)
        #expect(symmetric.dequantized()[3 * 64] == 3 * 3 - 24)
    }

    @Test func wrongCodeCountIsAShapeMismatch() {
        #expect(throws: QuantError.shapeMismatch("PackedWeight(int8): 5 codes for shape [2, 3] (6 expected)")) {
            try PackedWeight(int8: [1, 2, 3, 4, 5], scales: [1, 1], outFeatures: 2, inFeatures: 3, groupSize: 3)
        }
    }

    @Test func wrongScaleCountIsAShapeMismatch() {
        #expect(
            throws: QuantError.shapeMismatch("PackedWeight(uint4): 3 scales for 2 rows × 2 groups of 2 (4 expected)")
        ) {
            try PackedWeight(
                uint4: [1, 2, 3, 4, 5, 6], scales: [1, 1, 1], offsets: [0, 0, 0], outFeatures: 2, inFeatures: 3,
                groupSize: 2)
        }
        #expect(throws: QuantError.shapeMismatch("PackedWeight(uint4): 1 offsets for 2 rows × 1 groups (2 expected)")) {
            try PackedWeight(
                uint4: [1, 2, 3, 4, 5, 6], scales: [1, 1], offsets: [0], outFeatures: 2, inFeatures: 3, groupSize: 3)
        }
    }

    @Test func badCodesAndSizesAreNamed() {
        #expect(
            throws: QuantError.invalidConfiguration(
                field: "codes", reason: "PackedWeight(uint4): code 16 at element 4 (row 1, column 1) is outside 0...15")
        ) {
            try PackedWeight(
                uint4: [1, 2, 3, 4, 16, 6], scales: [1, 1], offsets: [0, 0], outFeatures: 2, inFeatures: 3, groupSize: 3
            )
        }
        #expect(throws: QuantError.nonFiniteInput("PackedWeight(fp8e4m3): code 0xff at element 1 is NaN")) {
            try PackedWeight(fp8e4m3: [1, 0xFF], scales: [1], outFeatures: 1, inFeatures: 2, groupSize: 2)
        }
        #expect(
            throws: QuantError.invalidConfiguration(
                field: "group_size", reason: "PackedWeight(int8): group size must be > 0, got 0")
        ) {
            try PackedWeight(int8: [1, 2], scales: [1], outFeatures: 1, inFeatures: 2, groupSize: 0)
        }
        #expect(throws: QuantError.nonFiniteInput("PackedWeight(int8): scale 1 (row 1, group 0) is nan")) {
            try PackedWeight(int8: [1, 2], scales: [1, .nan], outFeatures: 2, inFeatures: 1, groupSize: 1)
        }
    }

    @Test func activationModesFollowTheQuantizer() throws {
        #expect(PackedActivation(nil) == .float)
        let dynamic = try QuantScheme(dataType: .int8, granularity: .perToken, isDynamic: true)
        #expect(PackedActivation(ActivationQuantizer(scheme: dynamic)) == .int8PerToken)
        let staticScheme = try QuantScheme(dataType: .int8)
        let parameters = try QuantParameters(granularity: .perTensor, shape: [1, 4], scales: [0.5], zeroPoints: [3])
        #expect(
            PackedActivation(ActivationQuantizer(scheme: staticScheme, parameters: parameters))
                == .int8Static(scale: 0.5, zeroPoint: 3))
        let narrow = try QuantScheme(dataType: .int8, granularity: .perToken, isNarrowRange: true, isDynamic: true)
        #expect(PackedActivation(ActivationQuantizer(scheme: narrow)) == nil)
        let fp8 = try QuantScheme(dataType: .fp8_e4m3, granularity: .perToken, isDynamic: true)
        #expect(PackedActivation(ActivationQuantizer(scheme: fp8)) == nil)
    }
}
