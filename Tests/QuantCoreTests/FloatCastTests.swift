import TensorCore
import Testing

@testable import QuantCore

@Suite("FloatCast")
struct FloatCastTests {
    typealias Encoder = (UnsafeBufferPointer<Float>, UnsafeMutableBufferPointer<UInt16>) -> Void
    typealias Decoder = (UnsafeBufferPointer<UInt16>, UnsafeMutableBufferPointer<Float>) -> Void

    static func encode(_ values: [Float], with encoder: Encoder) -> [UInt16] {
        var bits = [UInt16](repeating: 0, count: values.count)
        values.withUnsafeBufferPointer { source in bits.withUnsafeMutableBufferPointer { encoder(source, $0) } }
        return bits
    }

    static func decode(_ bits: [UInt16], with decoder: Decoder) -> [Float] {
        var values = [Float](repeating: 0, count: bits.count)
        bits.withUnsafeBufferPointer { source in values.withUnsafeMutableBufferPointer { decoder(source, $0) } }
        return values
    }

    @Test func float16MatchesNumpy() throws {
        let cases = try NumberFormatFixtures.load().float16
        let bits = Self.encode(cases.map { Float(bitPattern: $0[0]) }, with: FloatCast.encodeFloat16)
        let decoded = Self.decode(bits, with: FloatCast.decodeFloat16)
        for (index, pair) in cases.enumerated() {
            let x = Float(bitPattern: pair[0])
            let expected = Float(Float16(bitPattern: UInt16(pair[1])))
            if x.isNaN {
                #expect(Float16(bitPattern: bits[index]).isNaN && decoded[index].isNaN)
            } else {
                #expect(UInt32(bits[index]) == pair[1], "float16 of \(hexBits(x))")
                #expect(decoded[index].bitPattern == expected.bitPattern)
            }
        }
    }

    @Test func bfloat16MatchesMLDtypes() throws {
        let cases = try NumberFormatFixtures.load().bfloat16
        let bits = Self.encode(cases.map { Float(bitPattern: $0[0]) }, with: FloatCast.encodeBFloat16)
        for (index, pair) in cases.enumerated() {
            let x = Float(bitPattern: pair[0])
            if x.isNaN {
                #expect(BFloat16(bitPattern: bits[index]).floatValue.isNaN)
            } else {
                #expect(UInt32(bits[index]) == pair[1], "bfloat16 of \(hexBits(x))")
            }
        }
    }

    /// The branch-free buffer path is TensorCore's `BFloat16(_:)` lane by lane, NaNs included.
    @Test func bfloat16BufferPathMatchesTensorCore() {
        var generator = SplitMix64(seed: 3)
        let values = (0..<4099).map { _ in Float(bitPattern: UInt32(truncatingIfNeeded: generator.next())) }
        let bits = Self.encode(values, with: FloatCast.encodeBFloat16)
        for (value, pattern) in zip(values, bits) {
            #expect(pattern == BFloat16(value).bitPattern, "\(hexBits(value))")
        }
        let decoded = Self.decode(bits, with: FloatCast.decodeBFloat16)
        for (pattern, value) in zip(bits, decoded) {
            #expect(value.bitPattern == BFloat16(bitPattern: pattern).floatValue.bitPattern)
        }
    }

    @Test(arguments: [QuantDataType.float16, .bfloat16])
    func roundTripIsIdempotentAndNearest(dataType: QuantDataType) throws {
        var generator = SplitMix64(seed: 5)
        let original = (0..<1000).map { _ in Float.random(in: -70000...70000, using: &generator) }
        var once = original
        try once.withUnsafeMutableBufferPointer { try FloatCast.roundTrip($0, to: dataType) }
        var twice = once
        try twice.withUnsafeMutableBufferPointer { try FloatCast.roundTrip($0, to: dataType) }
        #expect(once.map(\.bitPattern) == twice.map(\.bitPattern))
        for (x, y) in zip(original, once) {
            let expected = dataType == .float16 ? Float(Float16(x)) : BFloat16(x).floatValue
            #expect(y.bitPattern == expected.bitPattern)
        }
    }

    @Test func float16OverflowIsAnIEEECast() {
        let bits = Self.encode([65519, 65520, -1e30, 0x1p-25, 0x1p-24], with: FloatCast.encodeFloat16)
        #expect(bits == [0x7BFF, 0x7C00, 0xFC00, 0x0000, 0x0001])
    }

    @Test func roundTripRejectsOtherTypes() {
        var values: [Float] = [1]
        #expect(throws: QuantError.invalidConfiguration(
            field: "dtype", reason: "FloatCast handles float16 and bfloat16, not int8")) {
            try values.withUnsafeMutableBufferPointer { try FloatCast.roundTrip($0, to: .int8) }
        }
    }
}
