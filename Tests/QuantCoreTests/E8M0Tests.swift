import Testing

@testable import QuantCore

@Suite("E8M0")
struct E8M0Tests {
    @Test func everyCodeMatchesMLDtypes() throws {
        let table = try NumberFormatFixtures.load().e8m0.decode
        #expect(table.count == 256)
        for code in 0..<256 {
            let value = E8M0(bitPattern: UInt8(code)).floatValue
            let expected = Float(bitPattern: table[code])
            #expect(value.bitPattern == table[code] || (value.isNaN && expected.isNaN), "code \(code)")
        }
    }

    @Test func smallestScaleIsTheFloat32Subnormal2ToTheMinus127() {
        let smallest = E8M0(bitPattern: 0).floatValue
        #expect(smallest == Float(sign: .plus, exponent: -127, significand: 1))
        #expect(smallest.isSubnormal)
        #expect(E8M0(bitPattern: 254).floatValue == 0x1p127)
        #expect(E8M0(bitPattern: 127).floatValue == 1)
        #expect(E8M0.nan.floatValue.isNaN && E8M0.nan.isNaN && E8M0.nan.exponent == nil)
    }

    @Test(arguments: [(-1000, 0), (-128, 0), (-127, 0), (-126, 1), (-1, 126), (0, 127), (1, 128), (127, 254),
                      (128, 254), (1000, 254)])
    func exponentsClampToTheScaleRange(exponent: Int, code: UInt8) {
        let scale = E8M0(exponent: exponent)
        #expect(scale.bitPattern == code)
        #expect(scale.exponent == Int(code) - 127)
        #expect(!scale.isNaN)
    }

    @Test func reciprocalIsExact() {
        for code in UInt8(0)...254 {
            let scale = E8M0(bitPattern: code)
            #expect(scale.floatValue * scale.reciprocal == 1, "code \(code)")
            #expect(scale.reciprocal == Float(sign: .plus, exponent: 127 - Int(code), significand: 1))
        }
        #expect(E8M0.nan.reciprocal.isNaN)
    }
}
