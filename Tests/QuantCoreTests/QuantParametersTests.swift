import Foundation
import Testing

@testable import QuantCore

@Suite struct QuantParametersTests {
    func compute(_ low: Float, _ high: Float, _ scheme: QuantScheme, formatMaximum: Float? = nil) throws -> (
        Float, Int32
    ) {
        let p = try QuantParameters.compute(
            minimum: [low], maximum: [high], scheme: scheme, formatMaximum: formatMaximum)
        return (p.scales[0], p.zeroPoints[0])
    }

    @Test func symmetricInt8UsesHalfTheCodeSpan() throws {
        let (scale, zp) = try compute(-2, 5.1, QuantScheme(dataType: .int8))
        #expect(scale == Float(5.1) / 127.5)
        #expect(zp == 0)
        let (narrow, _) = try compute(-2, 5.1, QuantScheme(dataType: .int8, isNarrowRange: true))
        #expect(narrow == Float(5.1) / 127)
    }

    @Test func unsignedSymmetricPutsZeroMidRange() throws {
        #expect(try compute(-1, 3, QuantScheme(dataType: .uint8)).1 == 128)
        #expect(try compute(-1, 3, QuantScheme(dataType: .uint4)).1 == 8)
        #expect(try compute(-1, 3, QuantScheme(dataType: .uint4)).0 == Float(3) / 7.5)
    }

    @Test func asymmetricFollowsPyTorch() throws {
        let scheme = try QuantScheme(dataType: .uint8, isSymmetric: false)
        let (scale, zp) = try compute(-1, 3, scheme)
        #expect(scale == Float(4) / 255)
        #expect(zp == Int32(0 - (Float(-1) / scale).rounded(.toNearestOrEven)))  // 64
        #expect(zp == 64)
    }

    @Test func rangeIsWidenedToIncludeZero() throws {
        let scheme = try QuantScheme(dataType: .int8, isSymmetric: false)
        let (scale, zp) = try compute(2, 6, scheme)
        #expect(scale == Float(6) / 255)
        #expect(zp == -128)
        let (negativeScale, negativeZP) = try compute(-6, -2, scheme)
        #expect(negativeScale == Float(6) / 255)
        #expect(negativeZP == 127)
    }

    @Test func allZeroRangeGetsEpsilonScale() throws {
        #expect(try compute(0, 0, QuantScheme(dataType: .int8)).0 == Float.ulpOfOne)
        #expect(try compute(0, 0, QuantScheme(dataType: .int4, isSymmetric: false)) == (Float.ulpOfOne, -8))
        #expect(QuantParameters.scaleEpsilon == 1.1920929e-07)
    }

    @Test func float16ScalesAreRoundedToNearest() throws {
        let (scale, _) = try compute(-1, 1.2345678, QuantScheme(dataType: .int8, scaleType: .float16))
        let exact = Float(1.2345678) / 127.5
        #expect(scale == Float(Float16(exact)))
        #expect(scale != exact)
    }

    @Test(arguments: [0.001, 0.37, 1, 3.9, 1000, 1e-9] as [Float])
    func powerOfTwoScalesRoundUp(amax: Float) throws {
        for scheme in [
            try QuantScheme(dataType: .int8, scaleType: .powerOfTwo),
            try QuantScheme(dataType: .int4, isSymmetric: false, scaleType: .powerOfTwo),
        ] {
            let (scale, zp) = try compute(-amax * 0.7, amax, scheme)
            #expect(scale.significandBitPattern == 0, "scale \(scale) is not a power of two")
            let raw = try compute(
                -amax * 0.7, amax,
                QuantScheme(
                    dataType: scheme.dataType, isSymmetric: scheme.isSymmetric)
            ).0
            #expect(scale >= raw && scale < 2 * raw)
            // Nothing clips: both ends are within half a step of the grid's range.
            let (qmin, qmax) = scheme.integerRange
            #expect(Float(qmax - Int(zp)) * scale >= amax - scale / 2)
            #expect(Float(qmin - Int(zp)) * scale <= -amax * 0.7 + scale / 2)
        }
    }

    @Test func scaledFloatFormatsDivideByFormatMaximum() throws {
        let scheme = try QuantScheme(dataType: .fp8_e4m3, granularity: .perChannel)
        let p = try QuantParameters.compute(
            minimum: [-896, -1, 0], maximum: [10, 44.8, 0], scheme: scheme, shape: [3, 4], formatMaximum: 448)
        #expect(p.scales == [2, 0.1, .ulpOfOne])
        #expect(p.zeroPoints == [0, 0, 0])
        #expect(try compute(-1, 57344, QuantScheme(dataType: .fp8_e5m2), formatMaximum: 57344).0 == 1)
    }

    @Test func layoutCountsAreChecked() throws {
        let groups = try QuantScheme(dataType: .int4, granularity: .perGroup, groupSize: 32)
        // [2, 33] with groups of 32 has 2 groups per row (the second holds one element).
        let p = try QuantParameters.compute(
            minimum: [Float](repeating: -1, count: 4), maximum: [Float](repeating: 1, count: 4), scheme: groups,
            shape: [2, 33])
        #expect(p.scales.count == 4)
        #expect(
            throws: QuantError.shapeMismatch(
                "per_group parameters for shape [2, 32] need 2 scales and zero points, got 4 and 4")
        ) {
            try QuantParameters.compute(
                minimum: [Float](repeating: -1, count: 4), maximum: [Float](repeating: 1, count: 4), scheme: groups,
                shape: [2, 32])
        }
    }

    @Test func badRangesThrowExactErrors() throws {
        let scheme = try QuantScheme(dataType: .int8)
        #expect(throws: QuantError.nonFiniteInput("range [-1.0, nan] at parameter index 1")) {
            try QuantParameters.compute(
                minimum: [0, -1], maximum: [1, .nan], scheme: scheme, shape: [2], formatMaximum: nil)
        }
        #expect(
            throws: QuantError.invalidConfiguration(
                field: "range", reason: "minimum 2.0 > maximum 1.0 at parameter index 0")
        ) {
            try QuantParameters.compute(minimum: [2], maximum: [1], scheme: scheme)
        }
        #expect(
            throws: QuantError.invalidConfiguration(
                field: "format_maximum",
                reason:
                    "fp8_e4m3 scales need the format's largest finite value (448 for fp8_e4m3, 57344 for fp8_e5m2), "
                    + "got none"
            )
        ) {
            try QuantParameters.compute(minimum: [0], maximum: [1], scheme: QuantScheme(dataType: .fp8_e4m3))
        }
        #expect(
            throws: QuantError.invalidConfiguration(
                field: "format_maximum", reason: "448.0 given for integer type int8")
        ) {
            try QuantParameters.compute(minimum: [0], maximum: [1], scheme: scheme, formatMaximum: 448)
        }
        #expect(
            throws: QuantError.invalidConfiguration(
                field: "scale_type", reason: "scale at parameter index 0 overflows float16 (range too large to store)")
        ) {
            try QuantParameters.compute(
                minimum: [0], maximum: [1e8], scheme: QuantScheme(dataType: .int8, scaleType: .float16))
        }
    }

    @Test func parametersRoundTripThroughJSON() throws {
        let p = try QuantParameters(
            granularity: .perGroup, groupSize: 2, shape: [1, 3], scales: [0.5, 0.25], zeroPoints: [1, -2])
        let data = try JSONEncoder().encode(p)
        #expect(try JSONDecoder().decode(QuantParameters.self, from: data) == p)
        #expect(String(decoding: data, as: UTF8.self).contains("\"zero_points\""))
    }
}
