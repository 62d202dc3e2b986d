import Foundation
import TensorCore
import Testing

@testable import QuantCore

/// The shared exponent each `MXScaleMode` picks, against blocks worked by hand, and `search`'s promise.
@Suite("MXScaleMode")
struct MXScaleModeTests {
    static func codec(_ type: QuantDataType, _ mode: MXScaleMode) throws -> MXBlockCodec {
        try MXBlockCodec(dataType: type, scaleMode: mode)
    }

    /// Unbiased exponent of each block's scale.
    static func exponents(_ type: QuantDataType, _ mode: MXScaleMode, _ row: [Float]) throws -> [Int] {
        mxQuantize(try codec(type, mode), row).scales.map { Int($0) - 127 }
    }

    /// Per-block squared error of a quantized row, in Double.
    static func blockErrors(_ codec: MXBlockCodec, _ row: [Float], _ q: (scales: [UInt8], codes: [UInt8])) -> [Double] {
        let values = codec.dequantize(scales: q.scales, codes: q.codes, count: row.count)
        return stride(from: 0, to: row.count, by: MXBlockCodec.blockSize).map { start in
            (start..<min(start + MXBlockCodec.blockSize, row.count)).reduce(0.0) { sum, index in
                let difference = Double(row[index]) - Double(values[index])
                return sum + difference * difference
            }
        }
    }

    /// MXFP4 (E2M1: emax 2, one mantissa bit, max 6), amax 7 = 1.75 · 2^2:
    /// floor: X = 2^(2−2) = 1; 7 saturates to 6, −1.25 ties to 1 (even), 3 and 0.5 exact: SSE 1 + 1/16.
    /// even: 1.75 rounds to 2 at one mantissa bit, so X = 2; 3.5 ties to 4 (even) → 8, −0.625 → −0.5 → −1,
    /// 1.5 exact → 3, 0.25 ties to 0: SSE 1 + 1/16 + 1/4.
    /// search: floor's error is smaller, so X = 1.
    @Test func mxfp4BlockThatRoundsUpUnderEven() throws {
        let block: [Float] = [7, -1.25, 3, 0.5]
        let floor = mxQuantize(try Self.codec(.mxfp4_e2m1, .floor), block)
        #expect(floor.scales == [127])
        #expect(floor.codes == [0b0111, 0b1010, 0b0101, 0b0001])
        let even = mxQuantize(try Self.codec(.mxfp4_e2m1, .even), block)
        #expect(even.scales == [128])
        #expect(even.codes == [0b0110, 0b1001, 0b0011, 0b0000])
        #expect(Self.blockErrors(try Self.codec(.mxfp4_e2m1, .floor), block, floor) == [1.0625])
        #expect(Self.blockErrors(try Self.codec(.mxfp4_e2m1, .even), block, even) == [1.3125])
        #expect(try Self.exponents(.mxfp4_e2m1, .search, block) == [0])
    }

    /// [7.5, −7.5]: floor saturates both to ±6 (SSE 4.5); at X = 2, ±3.75 rounds to ±4 → ±8 (SSE 0.5): even and search
    /// both take X = 2 (m = 1.875 ≥ 1.75).
    @Test func searchTakesTheRaisedScaleWhenItsErrorIsSmaller() throws {
        let block: [Float] = [7.5, -7.5]
        #expect(try Self.exponents(.mxfp4_e2m1, .floor, block) == [0])
        #expect(try Self.exponents(.mxfp4_e2m1, .even, block) == [1])
        #expect(try Self.exponents(.mxfp4_e2m1, .search, block) == [1])
        #expect(mxQuantize(try Self.codec(.mxfp4_e2m1, .search), block).codes == [0b0110, 0b1110])
    }

    /// amax just below a power of two, 8⁻ = (2 − 2^−23) · 2^2: floor keeps X = 1 (the value saturates to 6); even
    /// rounds m up to 2 (X = 2, 4⁻ → 4 → 8); search agrees with even. amax exactly 8: X = 2 in every mode.
    @Test func amaxJustBelowAPowerOfTwo() throws {
        let below: [Float] = [Float(8).nextDown, 1]
        #expect(try Self.exponents(.mxfp4_e2m1, .floor, below) == [0])
        #expect(try Self.exponents(.mxfp4_e2m1, .even, below) == [1])
        #expect(try Self.exponents(.mxfp4_e2m1, .search, below) == [1])
        for mode in MXScaleMode.allCases {
            #expect(try Self.exponents(.mxfp4_e2m1, mode, [8, 1]) == [1], "\(mode)")
        }
    }

    /// The `even` threshold is m ≥ 2 − 2^−(mbits+1) of amax = m · 2^e, per element type:
    /// E2M1 1.75, E3M2 and E5M2 1.875, E2M3 and E4M3 1.9375, MXINT8 (6 fraction bits) 1 + 127/128.
    @Test(arguments: [
        (QuantDataType.mxfp4_e2m1, 1.75), (.mxfp6_e3m2, 1.875), (.mxfp8_e5m2, 1.875), (.mxfp6_e2m3, 1.9375),
        (.mxfp8_e4m3, 1.9375), (.mxint8, 1 + 127.0 / 128),
    ])
    func evenRoundsUpFromTheHalfwayPointOfTheElementMantissa(dataType: QuantDataType, threshold: Double) throws {
        let even = try Self.codec(dataType, .even)
        let floor = try Self.codec(dataType, .floor)
        for e in [-3, 0, 5] {
            let at = Float(threshold) * Float(sign: .plus, exponent: e, significand: 1)
            #expect(even.sharedScale(amax: at).exponent == floor.sharedScale(amax: at).exponent! + 1, "\(at)")
            #expect(even.sharedScale(amax: at.nextDown).exponent == floor.sharedScale(amax: at.nextDown).exponent, "\(at)")
            #expect(floor.sharedScale(amax: at).exponent == e - floor.elementMaxExponent)
        }
    }

    /// E4M3 (emax 8, max 448): amax 496 = 1.9375 · 2^8 moves to X = 2 under even (248 ties to 256 → 512, error 16
    /// instead of saturating to 448, error 48); amax 480 = 1.875 · 2^8 stays at X = 1 (saturates to 448).
    @Test func mxfp8BlocksByHand() throws {
        #expect(try Self.exponents(.mxfp8_e4m3, .even, [496, 1]) == [1])
        #expect(try Self.exponents(.mxfp8_e4m3, .floor, [496, 1]) == [0])
        #expect(try Self.exponents(.mxfp8_e4m3, .search, [496, 1]) == [1])
        #expect(try Self.exponents(.mxfp8_e4m3, .even, [480, 1]) == [0])
        let even = try Self.codec(.mxfp8_e4m3, .even)
        let q = mxQuantize(even, [496, 1])
        #expect(even.dequantize(scales: q.scales, codes: q.codes, count: 2) == [512, 1])
    }

    /// All-zero blocks keep scale code 0 (2^−127) and decode to zeros in every mode; NaN blocks keep the NaN scale.
    @Test(arguments: MXScaleMode.allCases)
    func zeroAndNaNBlocks(mode: MXScaleMode) throws {
        for type in microscalingTypes {
            let codec = try Self.codec(type, mode)
            let row = [Float](repeating: 0, count: 33) + [-0.0, 0]
            let q = mxQuantize(codec, row)
            #expect(q.scales == [0, 0], "\(type) \(mode)")
            #expect(codec.dequantize(scales: q.scales, codes: q.codes, count: row.count).allSatisfy { $0 == 0 })
            #expect(mxQuantize(codec, [1, .nan, 2]).scales == [0xFF])
        }
    }

    /// Subnormal elements: an all-subnormal MXFP4 block clamps to 2^−127 in every mode (its elements round to 0);
    /// MXINT8 with a subnormal amax of 1.99609375 · 2^−127 stays at 2^−127 under floor and rounds up to 2^−126 under
    /// even (normalized first: m ≥ 1 + 127/128), where search agrees (2^−127 saturates the element at 127/64).
    @Test func subnormalElements() throws {
        let tiny: [Float] = [0x1p-140, -3 * 0x1p-149, 0x1.8p-130]
        for mode in MXScaleMode.allCases {
            #expect(try Self.exponents(.mxfp4_e2m1, mode, tiny) == [-127], "\(mode)")
        }
        let amax = Float(sign: .plus, exponent: -127, significand: 1.99609375)
        #expect(amax.isSubnormal)
        #expect(try Self.exponents(.mxint8, .floor, [amax, 0x1p-135]) == [-127])
        #expect(try Self.exponents(.mxint8, .even, [amax, 0x1p-135]) == [-126])
        #expect(try Self.exponents(.mxint8, .search, [amax, 0x1p-135]) == [-126])
        // A normal block with subnormal neighbours: they change no maximum and round to code 0.
        let mixed: [Float] = [7.5, 0x1p-140, -0x1p-149]
        #expect(try Self.exponents(.mxfp4_e2m1, .even, mixed) == [1])
        #expect(mxQuantize(try Self.codec(.mxfp4_e2m1, .even), mixed).codes.dropFirst().allSatisfy { $0 & 0x7 == 0 })
    }

    /// `search` keeps a block's error at or below both candidates' (floor and floor + 1), and picks one of them.
    @Test(arguments: microscalingTypes)
    func searchNeverLosesToEitherCandidate(dataType: QuantDataType) throws {
        let floorCodec = try Self.codec(dataType, .floor)
        let searchCodec = try Self.codec(dataType, .search)
        var generator = SplitMix64(seed: 13)
        for trial in 0..<40 {
            // Heavy-tailed rows, so some blocks saturate under floor and others do not.
            let row = (0..<(32 * 5 + trial % 7)).map { _ in
                Float.random(in: -1...1, using: &generator) * Float.random(in: 0...1, using: &generator).squareRoot() * 7
                    * (Float.random(in: 0...1, using: &generator) < 0.05 ? 30 : 1)
            }
            let floor = mxQuantize(floorCodec, row)
            let search = mxQuantize(searchCodec, row)
            let floorErrors = Self.blockErrors(floorCodec, row, floor)
            let searchErrors = Self.blockErrors(searchCodec, row, search)
            for block in floor.scales.indices {
                let start = block * MXBlockCodec.blockSize
                let values = Array(row[start..<min(start + MXBlockCodec.blockSize, row.count)])
                let exponent = Int(floor.scales[block]) - 127
                let raised = values.map { floorCodec.referenceCode($0, scale: pow(2.0, Double(exponent + 1))) }
                let raisedError = floorCodec.referenceError(values, raised, exponent + 1)
                #expect(searchErrors[block] <= floorErrors[block], "\(dataType) block \(block)")
                #expect(searchErrors[block] <= raisedError, "\(dataType) block \(block)")
                #expect([floor.scales[block], floor.scales[block] + 1].contains(search.scales[block]))
            }
        }
    }

    /// The fast path equals the Double reference in every mode, over rows whose blocks span float32's range.
    @Test(arguments: MXScaleMode.allCases)
    func fastPathMatchesReference(mode: MXScaleMode) throws {
        for type in microscalingTypes {
            let codec = try Self.codec(type, mode)
            for count in [1, 31, 32, 33, 257, 1500] {
                let row = microscalingRow(count: count, seed: UInt64(count))
                let fast = mxQuantize(codec, row)
                let reference = codec.quantizeRowReference(row)
                #expect(fast.scales == reference.scales, "\(type) \(mode) \(count)")
                #expect(fast.codes == reference.codes, "\(type) \(mode) \(count)")
            }
        }
    }

    /// `TensorQuantizer` honours the scheme's mode for stored weights and for fake-quantized activations.
    @Test func tensorQuantizerUsesTheSchemeMode() throws {
        let row: [Float] = [7.5, -7.5] + Array(repeating: 0.25, count: 30)
        let tensor = Tensor(shape: [1, 32], scalars: row)
        let scheme = try QuantScheme(dataType: .mxfp4_e2m1, granularity: .perBlock, scaleMode: .even)
        #expect(try TensorQuantizer.quantize(tensor, scheme: scheme).blockScales == [128])
        var activations = row
        try activations.withUnsafeMutableBufferPointer { buffer in
            try TensorQuantizer.fakeQuantizeRows(buffer.baseAddress!, rows: 1, columns: 32, scheme: scheme, parameters: nil)
        }
        #expect(activations[0] == 8 && activations[1] == -8)
        #expect(try TensorQuantizer.fakeQuantize(tensor, scheme: scheme).scalars == activations)
    }

    // MARK: - The scheme key

    static func decode(_ json: String) throws -> QuantScheme {
        try JSONDecoder().decode(QuantScheme.self, from: Data(json.utf8))
    }

    @Test func schemeReadsAndWritesTheMode() throws {
        let scheme = try Self.decode(#"{"dtype": "mxfp4_e2m1", "scale_mode": "search"}"#)
        #expect(scheme.scaleMode == .search)
        #expect(try Self.decode(#"{"dtype": "mxfp6_e2m3"}"#).scaleMode == .floor)
        let encoded = String(decoding: try JSONEncoder().encode(scheme), as: UTF8.self)
        #expect(encoded.contains(#""scale_mode":"search""#))
        #expect(try Self.decode(encoded) == scheme)
        // Other formats have no mode and do not write the key.
        let int8 = String(decoding: try JSONEncoder().encode(try QuantScheme(dataType: .int8)), as: UTF8.self)
        #expect(!int8.contains("scale_mode"))
    }

    @Test func unknownModesAndNonMXFormatsAreRejected() throws {
        #expect(throws: QuantError.invalidConfiguration(
            field: "scale_mode", reason: "unknown value 'evn'; did you mean 'even'?; allowed: floor, even, search")) {
            try Self.decode(#"{"dtype": "mxfp4_e2m1", "scale_mode": "evn"}"#)
        }
        #expect(throws: QuantError.invalidConfiguration(
            field: "scale_mode", reason: "unknown value 'nearest'; allowed: floor, even, search")) {
            try Self.decode(#"{"dtype": "mxfp4_e2m1", "scale_mode": "nearest"}"#)
        }
        #expect(throws: QuantError.invalidConfiguration(
            field: "scale_mode",
            reason: "even chooses OCP MX block exponents; int8 is not an MX format (leave scale_mode out)")) {
            try Self.decode(#"{"dtype": "int8", "scale_mode": "even"}"#)
        }
        #expect(throws: (any Error).self) { try Self.decode(#"{"dtype": "mxfp4_e2m1", "scale_mode": 1}"#) }
    }
}
