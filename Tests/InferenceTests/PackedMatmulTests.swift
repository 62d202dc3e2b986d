import Inference
import QuantCore
import Testing

/// Every kernel path computes what the reference computes, and the reference computes the fake-quant product.
struct PackedMatmulTests {
    /// run vs reference: float summation order only (integer sums are exact): |Δ| ≤ this · Σ|x̂·ŵ| per output.
    static let kernelTolerance: Float = 1e-5
    /// reference vs dequantized weights × fake-quantized activations in a plain loop, the same bound.
    static let fakeQuantTolerance: Float = 1e-5

    static let activations: [PackedActivation] = [
        .float, .int8PerToken, .int8Static(scale: 0.02, zeroPoint: 0),
        .int8Static(scale: 0.015, zeroPoint: -9),
    ]
    /// (outFeatures, inFeatures, groupSize): multiples and non-multiples of 4/8/16/32/64, ragged last groups,
    /// per-channel, and group sizes the fast kernels do not take (12 for uint4, 7).
    static let shapes: [(Int, Int, Int)] = [
        (1, 17, 17), (16, 33, 32), (33, 100, 64), (20, 576, 32), (7, 1000, 128), (40, 576, 576), (3, 100, 100),
        (17, 64, 12), (5, 30, 7), (50, 64, 64),
    ]

    @Test(arguments: [PackedWeight.Format.int8, .uint4, .fp8e4m3], activations)
    func everyPathEqualsTheReference(format: PackedWeight.Format, activation: PackedActivation) throws {
        for (index, (outFeatures, inFeatures, groupSize)) in Self.shapes.enumerated() {
            let w = try PackedFixtures.weight(
                format, outFeatures: outFeatures, inFeatures: inFeatures, groupSize: groupSize, seed: UInt64(index))
            let dequantized = w.packed.dequantized()
            for rows in [1, 3, 17, 64] {
                let x = PackedFixtures.input(rows: rows, columns: inFeatures, seed: UInt64(rows * 31 + index))
                let expected = Self.product(w.packed, activation, x, rows: rows, path: nil)
                let magnitudes = PackedFixtures.magnitudes(
                    weight: dequantized, input: x, rows: rows, outFeatures: outFeatures, inFeatures: inFeatures)
                for path in KernelPath.supported {
                    let actual = Self.product(w.packed, activation, x, rows: rows, path: path)
                    let (error, at) = PackedFixtures.worstRelative(actual, expected, magnitudes: magnitudes)
                    #expect(
                        error <= Self.kernelTolerance,
                        "\(path) \(format) \(activation) [\(outFeatures), \(inFeatures)] g\(groupSize) rows \(rows): output \(at) is \(at >= 0 ? actual[at] : 0), reference \(at >= 0 ? expected[at] : 0)"
                    )
                }
            }
        }
    }

    /// More rows than one 256-row block: one tile (workers split the row blocks) and several tiles.
    @Test(arguments: [PackedWeight.Format.int8, .uint4, .fp8e4m3], [(16, 33, 32), (40, 100, 100), (700, 72, 64)])
    func manyRowsEqualTheReference(format: PackedWeight.Format, shape: (Int, Int, Int)) throws {
        let (outFeatures, inFeatures, groupSize) = shape
        let w = try PackedFixtures.weight(
            format, outFeatures: outFeatures, inFeatures: inFeatures, groupSize: groupSize, seed: 5)
        let rows = 300
        let x = PackedFixtures.input(rows: rows, columns: inFeatures, seed: 9)
        let magnitudes = PackedFixtures.magnitudes(
            weight: w.packed.dequantized(), input: x, rows: rows, outFeatures: outFeatures, inFeatures: inFeatures)
        for activation in [PackedActivation.float, .int8PerToken] {
            let expected = Self.product(w.packed, activation, x, rows: rows, path: nil)
            for path in KernelPath.supported {
                let actual = Self.product(w.packed, activation, x, rows: rows, path: path)
                let (error, at) = PackedFixtures.worstRelative(actual, expected, magnitudes: magnitudes)
                #expect(
                    error <= Self.kernelTolerance,
                    "\(path) \(format) \(activation) [\(outFeatures), \(inFeatures)] rows \(rows): output \(at) is \(at >= 0 ? actual[at] : 0), reference \(at >= 0 ? expected[at] : 0)"
                )
            }
        }
    }

    @Test(arguments: [PackedWeight.Format.int8, .uint4, .fp8e4m3], activations)
    func referenceEqualsTheFakeQuantProduct(format: PackedWeight.Format, activation: PackedActivation) throws {
        for (index, (outFeatures, inFeatures, groupSize)) in Self.shapes.enumerated() {
            let w = try PackedFixtures.weight(
                format, outFeatures: outFeatures, inFeatures: inFeatures, groupSize: groupSize,
                seed: UInt64(100 + index))
            let dequantized = w.packed.dequantized()
            let rows = 5
            var x = PackedFixtures.input(rows: rows, columns: inFeatures, seed: UInt64(index))
            let reference = Self.product(w.packed, activation, x, rows: rows, path: nil)
            try x.withUnsafeMutableBufferPointer { buffer in
                switch activation {
                case .float: break
                case .int8PerToken:
                    let scheme = try QuantScheme(dataType: .int8, granularity: .perToken, isDynamic: true)
                    try TensorQuantizer.fakeQuantizeRows(
                        buffer.baseAddress!, rows: rows, columns: inFeatures, scheme: scheme, parameters: nil)
                case let .int8Static(scale, zeroPoint):
                    let scheme = try QuantScheme(dataType: .int8, isSymmetric: zeroPoint == 0)
                    let parameters = try QuantParameters(
                        granularity: .perTensor, shape: [rows, inFeatures], scales: [scale], zeroPoints: [zeroPoint])
                    try TensorQuantizer.fakeQuantizeRows(
                        buffer.baseAddress!, rows: rows, columns: inFeatures, scheme: scheme, parameters: parameters)
                }
            }
            var expected = [Float](repeating: 0, count: rows * outFeatures)
            for row in 0..<rows {
                for out in 0..<outFeatures {
                    var sum: Float = 0
                    for k in 0..<inFeatures { sum += x[row * inFeatures + k] * dequantized[out * inFeatures + k] }
                    expected[row * outFeatures + out] = sum
                }
            }
            let magnitudes = PackedFixtures.magnitudes(
                weight: dequantized, input: x, rows: rows, outFeatures: outFeatures, inFeatures: inFeatures)
            let (error, at) = PackedFixtures.worstRelative(reference, expected, magnitudes: magnitudes)
            #expect(
                error <= Self.fakeQuantTolerance,
                "\(format) \(activation) [\(outFeatures), \(inFeatures)] g\(groupSize): output \(at) is \(at >= 0 ? reference[at] : 0), fake quant \(at >= 0 ? expected[at] : 0)"
            )
        }
    }

    @Test func currentPathIsSupportedAndPortableIsAlwaysThere() {
        #expect(KernelPath.current.isSupported)
        #expect(KernelPath.supported.last == .portable)
    }

    /// Runs `path` (nil: the reference) on `x: [rows, inFeatures]`.
    static func product(
        _ weight: PackedWeight, _ activation: PackedActivation, _ x: [Float], rows: Int, path: KernelPath?
    ) -> [Float] {
        var y = [Float](repeating: .nan, count: rows * weight.outFeatures)
        x.withUnsafeBufferPointer { input in
            y.withUnsafeMutableBufferPointer { output in
                if let path {
                    PackedMatmul.run(
                        weight, activation: activation, input: input.baseAddress!, rows: rows,
                        output: output.baseAddress!, path: path)
                } else {
                    PackedMatmul.reference(
                        weight, activation: activation, input: input.baseAddress!, rows: rows,
                        output: output.baseAddress!)
                }
            }
        }
        return y
    }
}
