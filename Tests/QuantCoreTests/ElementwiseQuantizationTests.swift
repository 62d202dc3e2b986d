import TensorCore
import Testing

@testable import QuantCore

@Suite struct ElementwiseQuantizationTests {
    static let schemes: [QuantScheme] = [
        try! QuantScheme(dataType: .int8, granularity: .perGroup, groupSize: 5),
        try! QuantScheme(dataType: .int4, granularity: .perGroup, groupSize: 5, isSymmetric: false),
        try! QuantScheme(dataType: .uint4, granularity: .perGroup, groupSize: 5, rounding: .halfAwayFromZero),
        try! QuantScheme(
            dataType: .int3, granularity: .perGroup, groupSize: 5, isNarrowRange: true, scaleType: .float16),
        try! QuantScheme(dataType: .int2, granularity: .perGroup, groupSize: 5, isSymmetric: false, rounding: .floor),
        try! QuantScheme(dataType: .uint8, granularity: .perGroup, groupSize: 5, scaleType: .powerOfTwo),
    ]

    /// Each row's single group quantized elementwise equals `AffineQuantizer` on the tensor: same parameters from
    /// the same ranges, same codes.
    @Test(arguments: schemes)
    func matchesTensorQuantizer(scheme: QuantScheme) throws {
        let rows = 7
        let x = Tensor(shape: [rows, 5], scalars: AffineTestData.wave(count: rows * 5, offset: 0.2))
        let parameters = try AffineQuantizer.parameters(for: x, scheme: scheme)
        let expectedCodes = try AffineQuantizer.quantize(x, parameters: parameters, scheme: scheme)
        let expectedValues = try AffineQuantizer.dequantize(expectedCodes, shape: x.shape, parameters: parameters)
        for column in 0..<5 {
            var low = [Float](repeating: 0, count: rows), high = low
            for r in 0..<rows {
                for c in 0..<5 {
                    low[r] = min(low[r], x.scalars[r * 5 + c])
                    high[r] = max(high[r], x.scalars[r * 5 + c])
                }
            }
            var scales = [Float](repeating: 0, count: rows), zeroPoints = [Int32](repeating: 0, count: rows)
            try AffineQuantizer.rangeParameters(
                minimum: low, maximum: high, count: rows, scheme: scheme, scales: &scales, zeroPoints: &zeroPoints)
            #expect(scales == parameters.scales && zeroPoints == parameters.zeroPoints)
            let values = (0..<rows).map { x.scalars[$0 * 5 + column] }
            var codes = [Int32](repeating: 0, count: rows), dequantized = [Float](repeating: 0, count: rows)
            let finite = try AffineQuantizer.quantizeElementwise(
                values, count: rows, scales: scales, zeroPoints: zeroPoints, scheme: scheme, codes: &codes,
                dequantized: &dequantized)
            #expect(finite)
            #expect(codes == (0..<rows).map { expectedCodes[$0 * 5 + column] })
            #expect(dequantized == (0..<rows).map { expectedValues.scalars[$0 * 5 + column] })
        }
    }

    @Test func nonFiniteInputIsReportedWithoutTrapping() throws {
        let scheme = try QuantScheme(dataType: .int4, granularity: .perChannel)
        var codes: [Int32] = [0, 0], values: [Float] = [0, 0]
        let finite = try AffineQuantizer.quantizeElementwise(
            [1, .nan], count: 2, scales: [0.5, 0.5], zeroPoints: [0, 0], scheme: scheme, codes: &codes,
            dequantized: &values)
        #expect(!finite && codes[0] == 2)
        #expect(throws: QuantError.self) {
            try AffineQuantizer.quantizeElementwise(
                [1], count: 1, scales: [1], zeroPoints: [0], scheme: QuantScheme(dataType: .fp8_e4m3), codes: &codes,
                dequantized: &values)
        }
    }
}
