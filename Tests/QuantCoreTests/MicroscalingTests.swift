import TensorCore
import Testing

@testable import QuantCore

let microscalingTypes: [QuantDataType] = QuantDataType.allCases.filter(\.isMicroscaling)

/// A row with a different magnitude in every block (2^-20 … 2^20 and float32 extremes), so scales vary.
func microscalingRow(count: Int, seed: UInt64) -> [Float] {
    var generator = SplitMix64(seed: seed)
    let blockExponents = [-20, 0, 3, 17, -130, 120, -5, 9]
    return (0..<count).map { index in
        let exponent = blockExponents[(index / MXBlockCodec.blockSize) % blockExponents.count]
        let value = Float.random(in: -1...1, using: &generator) * Float(sign: .plus, exponent: exponent, significand: 1)
        return index % 37 == 5 ? 0 : value
    }
}

func mxQuantize(_ codec: MXBlockCodec, _ row: [Float]) -> (scales: [UInt8], codes: [UInt8]) {
    row.withUnsafeBufferPointer { codec.quantize(row: $0) }
}

@Suite("MXBlockCodec")
struct MicroscalingTests {
    @Test func nonMicroscalingTypesAreRejected() {
        #expect(throws: QuantError.invalidConfiguration(
            field: "dtype", reason: "MXBlockCodec needs a microscaling type (mxfp8_e4m3 … mxint8), got fp8_e4m3")) {
            try MXBlockCodec(dataType: .fp8_e4m3)
        }
    }

    @Test(arguments: [(QuantDataType.mxfp8_e4m3, 8.25, 8), (.mxfp8_e5m2, 8.25, 15), (.mxfp6_e3m2, 6.25, 4),
                      (.mxfp6_e2m3, 6.25, 2), (.mxfp4_e2m1, 4.25, 2), (.mxint8, 8.25, 0)])
    func bitsAndEmax(dataType: QuantDataType, bits: Double, emax: Int) throws {
        let codec = try MXBlockCodec(dataType: dataType)
        #expect(codec.bitsPerElementIncludingScale == bits)
        #expect(codec.elementMaxExponent == emax)
    }

    @Test func sharedScaleIsFloorLog2OfAmaxMinusEmax() throws {
        let codec = try MXBlockCodec(dataType: .mxfp8_e4m3)
        #expect(codec.sharedScale(amax: 448).exponent == 0)
        #expect(codec.sharedScale(amax: 256).exponent == 0, "exact power of two: floor(log2) = 8")
        #expect(codec.sharedScale(amax: Float(256).nextDown).exponent == -1)
        #expect(codec.sharedScale(amax: 1).exponent == -8)
        #expect(codec.sharedScale(amax: 0).bitPattern == 0)
        #expect(codec.sharedScale(amax: 0x1p-140).bitPattern == 0, "clamped to 2^-127")
        #expect(codec.sharedScale(amax: .greatestFiniteMagnitude).exponent == 119)
        #expect(codec.sharedScale(amax: .nan).isNaN && codec.sharedScale(amax: -.infinity).isNaN)
        let int8 = try MXBlockCodec(dataType: .mxint8)
        #expect(int8.sharedScale(amax: .greatestFiniteMagnitude).exponent == 127)
        #expect(int8.sharedScale(amax: 0.75).exponent == -1)
    }

    /// MXFP4, worked by hand from MX v1.0 §6.3: amax 7 → floor(log2 7) = 2 = emax → X = 1; then FP4 rounding.
    @Test func mxfp4BlockFollowsTheSpecFormula() throws {
        let codec = try MXBlockCodec(dataType: .mxfp4_e2m1)
        let block: [Float] = [7, -1.25, 3, 0.5, 0.1, 0.25, 0.75, -5, 2.5, 1.75, -0.0, 4.9]
        let expectedCodes: [UInt8] = [
            0b0111,  // 7 saturates to 6
            0b1010,  // −1.25 ties between 1 (mantissa 0) and 1.5: −1
            0b0101,  // 3
            0b0001,  // 0.5, the subnormal
            0b0000,  // 0.1 < 0.25
            0b0000,  // 0.25 ties between 0 and 0.5: 0
            0b0010,  // 0.75 ties between 0.5 (code 1) and 1 (code 2): 1
            0b1110,  // −5 ties between 4 (even) and 6: −4
            0b0100,  // 2.5 ties between 2 (even) and 3: 2
            0b0100,  // 1.75 ties between 1.5 (odd) and 2: 2
            0b1000,  // −0
            0b0110,  // 4.9 nearer 4 than 6
        ]
        let (scales, codes) = mxQuantize(codec, block)
        #expect(scales == [127])
        #expect(codes == expectedCodes)
        // The same block times 2^-10 only changes the scale.
        let (smallScales, smallCodes) = mxQuantize(codec, block.map { $0 * 0x1p-10 })
        #expect(smallScales == [117] && smallCodes == expectedCodes)
        let values = codec.dequantize(scales: smallScales, codes: smallCodes, count: block.count)
        #expect(values == [6, -1, 3, 0.5, 0, 0, 1, -4, 2, 2, 0, 4].map { $0 * 0x1p-10 })
    }

    /// amax exactly a power of two lands on the element type's 2^emax.
    @Test func mxfp8PowerOfTwoAmax() throws {
        let codec = try MXBlockCodec(dataType: .mxfp8_e4m3)
        let (scales, codes) = mxQuantize(codec, [0.125, -0.0625, 0.1, 0x1p-20])
        #expect(scales == [127 - 11])  // floor(log2 2^-3) − 8
        // 0.125 / 2^-11 = 256 = 2^8 → 0.1111.000; 128 → 0.1110.000; 204.8 → 208 = 1.101·2^7 → 0.1110.101;
        // 2^-9 = the smallest subnormal → 0x01.
        #expect(codes == [0x78, 0xF0, 0x75, 0x01])
    }

    @Test func mxint8IsFixedPointWithSixFractionBits() throws {
        let codec = try MXBlockCodec(dataType: .mxint8)
        let (scales, codes) = mxQuantize(codec, [1.5, -1.999, 1.0 / 128, 3.0 / 128, -0.5, 1.999])
        #expect(scales == [127])  // floor(log2 1.999) = 0, emax 0
        // −127.94 and 127.94 clamp to ±127; 0.5 and 1.5 tie to even.
        let expected: [Int8] = [96, -127, 0, 2, -32, 127]
        #expect(codes == expected.map { UInt8(bitPattern: $0) })
        #expect(codec.elementValue(0x80) == -2, "−2 decodes though encoding never produces it")
    }

    @Test(arguments: microscalingTypes)
    func allZeroBlock(dataType: QuantDataType) throws {
        let codec = try MXBlockCodec(dataType: dataType)
        let (scales, codes) = mxQuantize(codec, [Float](repeating: 0, count: 40))
        #expect(scales == [0, 0])
        #expect(codes.allSatisfy { $0 == 0 })
        #expect(codec.dequantize(scales: scales, codes: codes, count: 40).allSatisfy { $0 == 0 })
    }

    @Test(arguments: microscalingTypes)
    func nonFiniteInputMakesTheBlockNaN(dataType: QuantDataType) throws {
        let codec = try MXBlockCodec(dataType: dataType)
        for bad in [Float.nan, .infinity, -.infinity] {
            var row = microscalingRow(count: 70, seed: 1)
            row[40] = bad
            let (scales, codes) = mxQuantize(codec, row)
            #expect(scales[1] == 0xFF)
            #expect(codes[32..<64].allSatisfy { $0 == 0 })
            let values = codec.dequantize(scales: scales, codes: codes, count: row.count)
            #expect(values[32..<64].allSatisfy { $0.isNaN })
            #expect(!values[0..<32].contains { $0.isNaN } && !values[64...].contains { $0.isNaN })
            #expect(throws: QuantError.nonFiniteInput("\(dataType.rawValue): element 40 of a row of 70 is \(bad)")) {
                try row.withUnsafeBufferPointer { try codec.quantizeChecked(row: $0) }
            }
        }
    }

    /// The fast path equals the Double reference, with a shorter last block for every length that is not a multiple
    /// of 32.
    @Test(arguments: microscalingTypes)
    func quantizeMatchesReference(dataType: QuantDataType) throws {
        let codec = try MXBlockCodec(dataType: dataType)
        for count in [1, 7, 31, 32, 33, 64, 95, 257] {
            let row = microscalingRow(count: count, seed: UInt64(count))
            let (scales, codes) = mxQuantize(codec, row)
            let reference = codec.quantizeRowReference(row)
            #expect(scales.count == MXBlockCodec.blockCount(rowLength: count))
            #expect(scales == reference.scales, "\(dataType.rawValue) count \(count)")
            #expect(codes == reference.codes, "\(dataType.rawValue) count \(count)")
        }
    }

    @Test(arguments: microscalingTypes)
    func quantizeDequantizeIsIdempotentAndMatchesTheCodes(dataType: QuantDataType) throws {
        let codec = try MXBlockCodec(dataType: dataType)
        let rowLength = 33
        let original = microscalingRow(count: rowLength * 8, seed: 9)
        var once = original
        codec.quantizeDequantize(&once, rowLength: rowLength)
        var twice = once
        codec.quantizeDequantize(&twice, rowLength: rowLength)
        #expect(once.map(\.bitPattern) == twice.map(\.bitPattern))
        for row in 0..<8 {
            let slice = Array(original[row * rowLength..<(row + 1) * rowLength])
            let (scales, codes) = mxQuantize(codec, slice)
            let values = codec.dequantize(scales: scales, codes: codes, count: rowLength)
            #expect(values.map(\.bitPattern) == once[row * rowLength..<(row + 1) * rowLength].map(\.bitPattern))
        }
    }

    /// |x − dq(q(x))| ≤ X · (half a step of the element grid at x / X) for values within range; values beyond the
    /// element's max come back as ±max · X.
    @Test(arguments: microscalingTypes)
    func errorIsWithinHalfAStep(dataType: QuantDataType) throws {
        let codec = try MXBlockCodec(dataType: dataType)
        let row = microscalingRow(count: 32 * 8 + 5, seed: 4)
        let (scales, codes) = mxQuantize(codec, row)
        let values = codec.dequantize(scales: scales, codes: codes, count: row.count)
        var largestExcess: Double = 0
        for index in row.indices {
            let scale = Double(E8M0(bitPattern: scales[index / 32]).floatValue)
            let scaled = Double(row[index]) / scale
            let error = abs(Double(row[index]) - Double(values[index]))
            if let format = codec.elementFormat {
                if abs(scaled) > Double(format.maxFinite) {
                    #expect(abs(Double(values[index])) == Double(format.maxFinite) * scale)
                    continue
                }
                let exponent = max(Int(Float(abs(scaled)).exponent), 1 - format.exponentBias)
                let halfStep = Double(
                    Float(sign: .plus, exponent: exponent - format.mantissaBitCount - 1, significand: 1))
                largestExcess = max(largestExcess, error - halfStep * scale)
            } else {
                if abs(scaled) > 127.0 / 64 {
                    #expect(abs(Double(values[index])) == 127.0 / 64 * scale)
                    continue
                }
                largestExcess = max(largestExcess, error - scale / 128)
            }
        }
        #expect(largestExcess <= 0, "\(dataType.rawValue): error exceeds half a step by \(largestExcess)")
    }
}
