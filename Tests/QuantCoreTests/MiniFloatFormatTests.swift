import TensorCore
import Testing

@testable import QuantCore

let allMiniFloatFormats: [MiniFloatFormat] = [.e4m3, .e5m2, .e3m2, .e2m3, .e2m1]

/// Positive finite codes in increasing value order (codes 0 … maxFiniteCode).
func positiveFiniteCodes(_ format: MiniFloatFormat) -> [UInt8] { Array(0...format.maxFiniteCode) }

@Suite("MiniFloatFormat")
struct MiniFloatFormatTests {
    struct Expected: Sendable {
        let format: MiniFloatFormat
        let maxFinite: Float, minNormal: Float, minSubnormal: Float
        let codeCount: Int, maxExponent: Int
        let nanCode: UInt8?, infinityCode: UInt8?
    }

    @Test(arguments: [
        Expected(format: .e4m3, maxFinite: 448, minNormal: 0x1p-6, minSubnormal: 0x1p-9, codeCount: 256,
                 maxExponent: 8, nanCode: 0x7F, infinityCode: nil),
        Expected(format: .e5m2, maxFinite: 57344, minNormal: 0x1p-14, minSubnormal: 0x1p-16, codeCount: 256,
                 maxExponent: 15, nanCode: 0x7E, infinityCode: 0x7C),
        Expected(format: .e3m2, maxFinite: 28, minNormal: 0x1p-2, minSubnormal: 0x1p-4, codeCount: 64,
                 maxExponent: 4, nanCode: nil, infinityCode: nil),
        Expected(format: .e2m3, maxFinite: 7.5, minNormal: 1, minSubnormal: 0.125, codeCount: 64,
                 maxExponent: 2, nanCode: nil, infinityCode: nil),
        Expected(format: .e2m1, maxFinite: 6, minNormal: 1, minSubnormal: 0.5, codeCount: 16,
                 maxExponent: 2, nanCode: nil, infinityCode: nil),
    ])
    func constantsMatchTheSpecs(expected: Expected) {
        let format = expected.format
        #expect(format.maxFinite == expected.maxFinite)
        #expect(format.minNormal == expected.minNormal)
        #expect(format.minSubnormal == expected.minSubnormal)
        #expect(format.codeCount == expected.codeCount)
        #expect(format.maxExponent == expected.maxExponent)
        #expect(format.nanCode == expected.nanCode)
        #expect(format.infinityCode == expected.infinityCode)
        #expect(format.decode(format.maxFiniteCode) == expected.maxFinite)
    }

    @Test func e2m1HasTheSixteenValuesOfTheSpec() {
        let values: [Float] = [0, 0.5, 1, 1.5, 2, 3, 4, 6]
        for code in UInt8(0)..<16 {
            let expected = code < 8 ? values[Int(code)] : -values[Int(code - 8)]
            #expect(MiniFloatFormat.e2m1.decode(code).bitPattern == expected.bitPattern, "code \(code)")
        }
    }

    /// decode then encode gives the code back, for every code, −0 and the NaN codes of E4M3 included. Exceptions:
    /// E5M2's NaN payloads other than the quiet NaN 0x7E / 0xFE (all NaNs encode to those), and its ±∞, which
    /// saturate unless `saturating: false`.
    @Test(arguments: allMiniFloatFormats)
    func everyCodeRoundTrips(format: MiniFloatFormat) {
        for rawCode in 0..<format.codeCount {
            let code = UInt8(rawCode)
            let value = format.decode(code)
            let back = format.encode(value)
            if value.isNaN {
                #expect(format.isNaN(code: back), "\(format) NaN code \(code) encoded to \(back)")
                #expect(back == (code & format.signBit) | format.nanCode!)
            } else if value.isInfinite {
                // Infinities survive only the non-saturating conversion.
                #expect(back == (code & format.signBit) | format.maxFiniteCode)
                #expect(format.encode(value, saturating: false) == code)
            } else {
                #expect(back == code, "\(format) code \(code) = \(value) encoded to \(back)")
                #expect(format.encode(value, saturating: false) == code)
            }
        }
    }

    @Test(arguments: allMiniFloatFormats)
    func exactMidpointsRoundToTheEvenCode(format: MiniFloatFormat) {
        let codes = positiveFiniteCodes(format)
        for (low, high) in zip(codes, codes.dropFirst()) {
            let midpoint = (format.decode(low) + format.decode(high)) / 2  // exact: at most 5 significant bits
            let even = low & 1 == 0 ? low : high
            #expect(format.encode(midpoint) == even, "\(format) midpoint \(midpoint) of codes \(low), \(high)")
            #expect(format.encode(-midpoint) == even | format.signBit)
            #expect(format.encode(midpoint.nextUp) == high)
            #expect(format.encode(midpoint.nextDown) == low)
        }
    }

    @Test(arguments: allMiniFloatFormats)
    func subnormalEdges(format: MiniFloatFormat) {
        let tiny = format.minSubnormal
        #expect(format.encode(tiny) == 1)
        #expect(format.encode(tiny / 2) == 0, "half the smallest subnormal ties to even: 0")
        #expect(format.encode((tiny / 2).nextUp) == 1)
        #expect(format.encode(-tiny / 2) == format.signBit, "rounds to −0")
        #expect(format.encode(tiny * 1.5) == 2, "1.5 ulp ties to the even code 2")
        #expect(format.encode(Float.leastNonzeroMagnitude) == 0)
        #expect(format.encode(-Float.leastNormalMagnitude) == format.signBit)
        #expect(format.decode(1) == tiny)
        // The largest subnormal rounds up into the smallest normal, whose code is 2^m.
        let largestSubnormal = format.decode(UInt8((1 << format.mantissaBitCount) - 1))
        let aboveMidpoint = (largestSubnormal + format.minNormal) / 2 + tiny / 4
        #expect(format.encode(aboveMidpoint) == UInt8(1 << format.mantissaBitCount))
    }

    @Test(arguments: allMiniFloatFormats)
    func saturationAtAndAboveMax(format: MiniFloatFormat) {
        let max = format.maxFinite
        let code = format.maxFiniteCode
        for value in [max, max.nextUp, max * 1.0625, max * 2, Float.greatestFiniteMagnitude, .infinity] {
            #expect(format.encode(value) == code, "\(format) \(value)")
            #expect(format.encode(-value) == code | format.signBit)
        }
        #expect(format.encode(max.nextDown) == code)
    }

    @Test func nonSaturatingOverflowFollowsOFP8() {
        // E4M3: the grid's next step would be 480 (the NaN pattern); 464 ties to even 448, above it is NaN.
        #expect(MiniFloatFormat.e4m3.encode(464, saturating: false) == 0x7E)
        #expect(MiniFloatFormat.e4m3.encode(Float(464).nextUp, saturating: false) == 0x7F)
        #expect(MiniFloatFormat.e4m3.encode(-1000, saturating: false) == 0xFF)
        #expect(MiniFloatFormat.e4m3.encode(.infinity, saturating: false) == 0x7F)
        // E5M2: 61440 ties away from the odd 57344 to 65536 = ∞.
        #expect(MiniFloatFormat.e5m2.encode(61440, saturating: false) == 0x7C)
        #expect(MiniFloatFormat.e5m2.encode(Float(61440).nextDown, saturating: false) == 0x7B)
        #expect(MiniFloatFormat.e5m2.encode(-.infinity, saturating: false) == 0xFC)
        // Without infinity or NaN there is nothing to overflow to: FP6/FP4 saturate either way.
        #expect(MiniFloatFormat.e2m1.encode(7, saturating: false) == 0x7)
        #expect(MiniFloatFormat.e3m2.encode(-.infinity, saturating: false) == 0x3F)
    }

    @Test func nanHandling() throws {
        #expect(MiniFloatFormat.e4m3.encode(.nan) == 0x7F)
        #expect(MiniFloatFormat.e4m3.encode(-.nan) == 0xFF)
        #expect(MiniFloatFormat.e5m2.encode(.nan) == 0x7E)
        #expect(MiniFloatFormat.e5m2.encode(.nan, saturating: false) == 0x7E)
        #expect(MiniFloatFormat.e5m2.encode(Float(bitPattern: 0xFF80_0001)) == 0xFE, "signalling NaN, sign kept")
        // No NaN in FP6/FP4: NaN takes the max-magnitude code, never a small value.
        #expect(MiniFloatFormat.e2m1.encode(.nan) == 0x7)
        #expect(MiniFloatFormat.e2m1.encode(-.nan) == 0xF)
        #expect(MiniFloatFormat.e3m2.encode(.nan) == 0x1F)
        #expect(MiniFloatFormat.e2m3.encode(.nan, saturating: false) == 0x1F)
        #expect(throws: QuantError.nonFiniteInput("E2M1 encode: input is nan")) {
            try MiniFloatFormat.e2m1.encodeChecked(.nan)
        }
        #expect(throws: QuantError.nonFiniteInput("E4M3 encode: input is -inf")) {
            try MiniFloatFormat.e4m3.encodeChecked(-.infinity)
        }
        #expect(try MiniFloatFormat.e2m3.encodeChecked(7.25) == 0x1E)
        let values: [Float] = [1, 2, .nan, 4]
        var codes = [UInt8](repeating: 0xAA, count: values.count)
        #expect(throws: QuantError.nonFiniteInput("E3M2 encode: element 2 of 4 is nan")) {
            try values.withUnsafeBufferPointer { source in
                try codes.withUnsafeMutableBufferPointer { try MiniFloatFormat.e3m2.encodeChecked(source, into: $0) }
            }
        }
        #expect(codes == [0xAA, 0xAA, 0xAA, 0xAA], "codes are untouched when the check fails")
    }

    /// Random bit patterns (all exponents, NaNs, infinities, subnormals) through the scalar encoder and the plain
    /// nearest-value search.
    @Test(arguments: allMiniFloatFormats)
    func scalarEncodeMatchesReference(format: MiniFloatFormat) {
        var generator = SplitMix64(seed: 7)
        var inputs = (0..<3000).map { _ in Float(bitPattern: UInt32(truncatingIfNeeded: generator.next())) }
        // Bias half of them into the format's own range, where the grid matters.
        inputs += (0..<3000).map { _ in
            let exponent = Int.random(in: -format.exponentBias - format.mantissaBitCount - 2...format.maxExponent + 1,
                                      using: &generator)
            let value = Float(sign: .plus, exponent: exponent, significand: Float.random(in: 1..<2, using: &generator))
            return Bool.random(using: &generator) ? value : -value
        }
        for x in inputs {
            for saturating in [true, false] {
                let fast = format.encode(x, saturating: saturating)
                let reference = format.encodeReference(x, saturating: saturating)
                #expect(fast == reference, "\(format) \(hexBits(x)) saturating \(saturating): \(fast) vs \(reference)")
            }
        }
    }

    /// The 16-lane buffer path equals the scalar encoder, lane by lane and in the tail (count 1, primes, 16 ± 1).
    @Test(arguments: allMiniFloatFormats)
    func bufferEncodeMatchesScalar(format: MiniFloatFormat) {
        var generator = SplitMix64(seed: 11)
        for count in [0, 1, 7, 15, 16, 17, 31, 33, 1021] {
            let values: [Float] = (0..<count).map { index in
                switch index % 4 {
                case 0: Float(bitPattern: UInt32(truncatingIfNeeded: generator.next()))
                case 1: Float.random(in: -2 * format.maxFinite...2 * format.maxFinite, using: &generator)
                case 2: Float.random(in: -4 * format.minNormal...4 * format.minNormal, using: &generator)
                default: [Float.nan, -.infinity, .infinity, -0.0, format.maxFinite][index / 4 % 5]
                }
            }
            for saturating in [true, false] {
                var codes = [UInt8](repeating: 0, count: count)
                values.withUnsafeBufferPointer { source in
                    codes.withUnsafeMutableBufferPointer { format.encode(source, into: $0, saturating: saturating) }
                }
                for index in 0..<count {
                    let scalar = format.encode(values[index], saturating: saturating)
                    #expect(codes[index] == scalar, "\(format) \(hexBits(values[index])) at \(index) of \(count)")
                }
            }
        }
    }

    @Test(arguments: allMiniFloatFormats)
    func bufferDecodeMatchesTable(format: MiniFloatFormat) {
        let codes = (0..<format.codeCount * 3 + 5).map { UInt8($0 % format.codeCount) }
        var values = [Float](repeating: 0, count: codes.count)
        codes.withUnsafeBufferPointer { source in
            values.withUnsafeMutableBufferPointer { format.decode(source, into: $0) }
        }
        for (code, value) in zip(codes, values) {
            #expect(value.bitPattern == format.decode(code).bitPattern)
        }
    }

    @Test(arguments: allMiniFloatFormats)
    func matchesMLDtypes(format: MiniFloatFormat) throws {
        let fixture = try #require(try NumberFormatFixtures.load().formats[format.name.lowercased()])
        #expect(fixture.decode.count == format.codeCount)
        for (code, bits) in fixture.decode.enumerated() {
            let expected = Float(bitPattern: bits)
            let value = format.decode(UInt8(code))
            #expect(value.bitPattern == bits || (expected.isNaN && value.isNaN), "\(format) decode \(code)")
        }
        for pair in fixture.cases {
            let x = Float(bitPattern: pair[0])
            #expect(UInt32(format.encode(x)) == pair[1], "\(format) encode \(hexBits(x))")
            #expect(UInt32(format.encode(x, saturating: false)) == pair[1])
        }
        for triple in fixture.overflow {
            let x = Float(bitPattern: triple[0])
            #expect(UInt32(format.encode(x)) == triple[1], "\(format) saturating \(hexBits(x))")
            #expect(UInt32(format.encode(x, saturating: false)) == triple[2], "\(format) non-saturating \(hexBits(x))")
        }
    }

    @Test func formatsOfDataTypes() throws {
        #expect(try MiniFloatFormat(dataType: .fp8_e4m3) == .e4m3)
        #expect(try MiniFloatFormat(dataType: .mxfp8_e5m2) == .e5m2)
        #expect(try MiniFloatFormat(dataType: .mxfp4_e2m1) == .e2m1)
        #expect(throws: QuantError.invalidConfiguration(
            field: "dtype", reason: "mxint8 has no 4-, 6- or 8-bit float element format")) {
            try MiniFloatFormat(dataType: .mxint8)
        }
    }

    @Test func invalidFormatsAreRejected() {
        #expect(throws: QuantError.self) {
            try MiniFloatFormat(name: "E5M3", exponentBitCount: 5, mantissaBitCount: 3, exponentBias: 15,
                                specialValues: .ieee)
        }
        #expect(throws: QuantError.self) {
            try MiniFloatFormat(name: "E0M7", exponentBitCount: 0, mantissaBitCount: 7, exponentBias: 0,
                                specialValues: .none)
        }
        #expect(throws: QuantError.self) {
            try MiniFloatFormat(name: "E3M0", exponentBitCount: 3, mantissaBitCount: 0, exponentBias: 3,
                                specialValues: .nanOnly)
        }
        #expect(throws: QuantError.self) {
            try MiniFloatFormat(name: "E4M3", exponentBitCount: 4, mantissaBitCount: 3, exponentBias: 200,
                                specialValues: .none)
        }
        // A custom format works like the built-in ones: E3M0 (powers of two) without specials.
        let e3m0 = try? MiniFloatFormat(name: "E3M0", exponentBitCount: 3, mantissaBitCount: 0, exponentBias: 3,
                                        specialValues: .none)
        #expect(e3m0?.maxFinite == 16)
        #expect(e3m0?.encode(3.5) == 5, "3.5 is nearer 4 = 2^(5 − 3)")
        #expect(e3m0?.encode(0.1) == 0)
    }
}
