import ModelFormats
import QuantCore
import TensorCore
import TestSupport
import Testing

@testable import Export

/// A saved weight's codes written as blocks: the codes survive float16 scales, and scales float16 cannot hold well
/// get their codes re-chosen.
@Suite struct GGMLCodeConversionTests {
    static func decode(_ type: GGMLType, _ bytes: [UInt8], count: Int) -> [Float] {
        GGMLBlockEncoderTests.decode(type, bytes, count: count)
    }

    @Test(arguments: [(true, 32), (false, 32), (false, 64), (true, 96)])
    func int4CodesAreKept(symmetric: Bool, groupSize: Int) throws {
        let weight = Tensor(shape: [5, 192], scalars: ExportFixtures.values(960, seed: 11, scale: 0.3))
        let stored = try TensorQuantizer.quantize(
            weight, scheme: try ExportFixtures.int4(groupSize: groupSize, symmetric: symmetric))
        let type: GGMLType = symmetric ? .q4_0 : .q4_1
        let (bytes, change) = try GGMLCodeConversion.encode(stored, as: type, name: "w")
        let decoded = Self.decode(type, bytes, count: 960)
        let quanta = try stored.dequantized().scalars
        // Every element within 2⁻¹¹ of d times 15 codes plus m's rounding: far below the half step a changed code costs.
        #expect(change.maxChangeInSteps < 0.02)
        #expect(Tolerance.maxAbsDifference(decoded, quanta) == change.maxAbsoluteChange)
        // The stored nibbles are the saved codes shifted into GGML's range.
        let codes = BitPacking.unpack(stored.codes, count: 960, bitWidth: 4, isSigned: symmetric)
        let lowNibble = Int32(bytes[type == .q4_0 ? 2 : 4] & 0x0F)
        #expect(lowNibble == codes[0] + (symmetric ? 8 : 0))
    }

    @Test func int8PerChannelCodesAreKept() throws {
        let weight = Tensor(shape: [3, 64], scalars: ExportFixtures.values(192, seed: 2))
        let stored = try TensorQuantizer.quantize(weight, scheme: try ExportFixtures.int8())
        let (bytes, change) = try GGMLCodeConversion.encode(stored, as: .q8_0, name: "w")
        let codes = BitPacking.unpack(stored.codes, count: 192, bitWidth: 8, isSigned: true)
        #expect(Int8(bitPattern: bytes[2]) == Int8(codes[0]) && Int8(bitPattern: bytes[37]) == Int8(codes[33]))
        #expect(change.maxRelativeChange <= 0x1p-11)
    }

    @Test func aScaleBelowFloat16sPrecisionGetsItsCodesRechosen() throws {
        // 3e-7 is a float16 subnormal (step 2⁻²⁴ ≈ 6e-8): stored as 2.98e-7, 0.6% off. Codes are re-chosen
        // against it, so every value stays within half a stored step of Quanta's.
        let scale: Float = 3e-7
        let codes: [Int32] = (0..<32).map { Int32($0 % 16) - 8 }
        let parameters = try QuantParameters(granularity: .perTensor, shape: [1, 32], scales: [scale], zeroPoints: [0])
        let stored = QuantizedTensor(
            scheme: try QuantScheme(dataType: .int4), shape: [1, 32], codes: BitPacking.pack(codes, bitWidth: 4),
            parameters: parameters, blockScales: [])
        let (bytes, change) = try GGMLCodeConversion.encode(stored, as: .q4_0, name: "w")
        let d = Float(Float16(scale))
        #expect(d != scale)
        let decoded = Self.decode(.q4_0, bytes, count: 32)
        let quanta = try stored.dequantized().scalars
        #expect(Tolerance.maxAbsDifference(decoded, quanta) <= d / 2 + 1e-12)
        #expect(change.maxChangeInSteps <= 0.5)
    }

    @Test func aScaleFloat16CannotHoldIsAnError() throws {
        let parameters = try QuantParameters(granularity: .perTensor, shape: [1, 32], scales: [1e6], zeroPoints: [0])
        let stored = QuantizedTensor(
            scheme: try QuantScheme(dataType: .int8), shape: [1, 32], codes: [UInt8](repeating: 1, count: 32),
            parameters: parameters, blockScales: [])
        #expect(throws: ExportError.self) { try GGMLCodeConversion.encode(stored, as: .q8_0, name: "w") }
    }
}
