import Foundation
import TensorCore
import Testing

@testable import QuantCore

/// PyTorch's values from `scripts/reference/fake_quant_reference.py` (see Fixtures/README.md).
struct FakeQuantReference: Decodable {
    struct PerTensorCase: Decodable {
        var name: String
        var vector: String
        var dtype: String
        var symmetric: Bool
        var narrowRange: Bool
        var qmin: Int
        var qmax: Int
        var scale: Float
        var zeroPoint: Int32
        var output: [Float]

        enum CodingKeys: String, CodingKey {
            case name, vector, dtype, symmetric, qmin, qmax, scale, output
            case narrowRange = "narrow_range"
            case zeroPoint = "zero_point"
        }
    }
    struct PerChannelCase: Decodable {
        var name: String
        var dtype: String
        var symmetric: Bool
        var narrowRange: Bool
        var axis: Int
        var qmin: Int
        var qmax: Int
        var scales: [Float]
        var zeroPoints: [Int32]
        var output: [Float]

        enum CodingKeys: String, CodingKey {
            case name, dtype, symmetric, axis, qmin, qmax, scales, output
            case narrowRange = "narrow_range"
            case zeroPoints = "zero_points"
        }
    }
    struct PerChannel: Decodable {
        var shape: [Int]
        var input: [Float]
        var cases: [PerChannelCase]
    }
    struct FixedCase: Decodable {
        var name: String
        var scale: Float
        var zeroPoint: Int32
        var qmin: Int
        var qmax: Int
        var input: [Float]
        var output: [Float]

        enum CodingKeys: String, CodingKey {
            case name, scale, qmin, qmax, input, output
            case zeroPoint = "zero_point"
        }
    }
    var vectors: [String: [Float]]
    var perTensor: [PerTensorCase]
    var perChannel: PerChannel
    var fixed: [FixedCase]

    enum CodingKeys: String, CodingKey {
        case vectors, fixed
        case perTensor = "per_tensor"
        case perChannel = "per_channel"
    }

    static func load() throws -> FakeQuantReference {
        // Explicit CodingKeys rather than .convertFromSnakeCase, which would also rewrite the `vectors` names.
        let decoder = JSONDecoder()
        let url = try #require(
            Bundle.module.url(forResource: "fake_quant_reference", withExtension: "json", subdirectory: "Fixtures"))
        return try decoder.decode(FakeQuantReference.self, from: Data(contentsOf: url))
    }
}

/// Tolerances against PyTorch: both compute in float32 with the same operation order, so they agree exactly.
enum ReferenceTolerance {
    /// Scales: PyTorch's `max / ((qmax − qmin) / 2)` and `(max − min) / (qmax − qmin)` in float32.
    static let scaleRelative: Float = 0
    /// Fake-quantized values: same `x · (1/scale)`, half-to-even rounding, `(q − zp) · scale`.
    static let value: Float = 0
}

@Suite struct FakeQuantReferenceTests {
    func scheme(
        dtype: String, symmetric: Bool, narrow: Bool, granularity: QuantScheme.Granularity = .perTensor, axis: Int = 0
    ) throws -> QuantScheme {
        let type = try #require(QuantDataType(rawValue: dtype))
        return try QuantScheme(
            dataType: type, granularity: granularity, axis: axis, isSymmetric: symmetric, isNarrowRange: narrow)
    }

    func expectClose(
        _ actual: [Float], _ expected: [Float], tolerance: Float, _ name: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(
            actual.count == expected.count, "\(name): \(actual.count) values, PyTorch has \(expected.count)",
            sourceLocation: sourceLocation)
        let (difference, index) = largestDifference(actual, expected)
        #expect(
            difference <= tolerance,
            Comment(
                rawValue: "\(name): Quanta \(actual[max(index, 0)]) vs PyTorch \(expected[max(index, 0)]) at \(index), "
                    + "largest difference \(difference)"),
            sourceLocation: sourceLocation)
    }

    @Test func perTensorParametersAndValuesMatchPyTorch() throws {
        let reference = try FakeQuantReference.load()
        #expect(reference.perTensor.count == 40)
        for c in reference.perTensor {
            let scheme = try scheme(dtype: c.dtype, symmetric: c.symmetric, narrow: c.narrowRange)
            #expect(scheme.integerRange == (c.qmin, c.qmax), "\(c.name)")
            let input = try #require(reference.vectors[c.vector])
            let x = Tensor(shape: [input.count], scalars: input)
            let p = try AffineQuantizer.parameters(for: x, scheme: scheme)
            #expect(
                abs(p.scales[0] - c.scale) <= ReferenceTolerance.scaleRelative * c.scale,
                "\(c.name): scale \(p.scales[0]) vs PyTorch \(c.scale)")
            if c.name.hasPrefix("uint4_sym/") {
                // PyTorch's custom-range unsigned symmetric zero point is ⌊(0 + 15) / 2⌋ = 7; Quanta uses 2³ = 8.
                #expect(c.zeroPoint == 7 && p.zeroPoints[0] == 8, "\(c.name)")
                continue
            }
            #expect(
                p.zeroPoints[0] == c.zeroPoint, "\(c.name): zero point \(p.zeroPoints[0]) vs PyTorch \(c.zeroPoint)")
            let y = try AffineQuantizer.fakeQuantize(x, parameters: p, scheme: scheme)
            expectClose(y.scalars, c.output, tolerance: ReferenceTolerance.value, c.name)
        }
    }

    @Test func perChannelParametersAndValuesMatchPyTorch() throws {
        let reference = try FakeQuantReference.load().perChannel
        let x = Tensor(shape: reference.shape, scalars: reference.input)
        #expect(reference.cases.count == 10)
        for c in reference.cases {
            let scheme = try scheme(
                dtype: c.dtype, symmetric: c.symmetric, narrow: c.narrowRange, granularity: .perChannel, axis: c.axis)
            let p = try AffineQuantizer.parameters(for: x, scheme: scheme)
            expectClose(p.scales, c.scales, tolerance: 0, "\(c.name) scales")
            #expect(p.zeroPoints == c.zeroPoints, "\(c.name): zero points \(p.zeroPoints) vs PyTorch \(c.zeroPoints)")
            let y = try AffineQuantizer.fakeQuantize(x, parameters: p, scheme: scheme)
            expectClose(y.scalars, c.output, tolerance: ReferenceTolerance.value, c.name)
        }
    }

    @Test func tiesAndReciprocalRoundingMatchPyTorch() throws {
        let reference = try FakeQuantReference.load()
        let scheme = try QuantScheme(dataType: .int8, isSymmetric: false)
        for c in reference.fixed {
            #expect((c.qmin, c.qmax) == (-128, 127))
            let x = Tensor(shape: [c.input.count], scalars: c.input)
            let p = try QuantParameters(
                granularity: .perTensor, shape: [], scales: [c.scale], zeroPoints: [c.zeroPoint])
            let y = try AffineQuantizer.fakeQuantize(x, parameters: p, scheme: scheme)
            expectClose(y.scalars, c.output, tolerance: ReferenceTolerance.value, c.name)
            // Dividing instead of multiplying by the float32 reciprocal would get some of these wrong.
            if c.name.hasPrefix("mul_vs_div") {
                let divided = c.input.map { ($0 / c.scale).rounded(.toNearestOrEven) * c.scale }
                #expect(divided != c.output, "\(c.name) should contain values where x / s and x · (1/s) round apart")
            }
        }
    }
}
