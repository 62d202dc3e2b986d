import Inference
import QuantCore
import TensorCore
import TestSupport
import Testing

/// Packed storage computes what the fake-quant (float) layer computes: the conversion from stored codes gives the same
/// weights, and a packed layer's output equals the float layer's up to float summation order.
@Suite struct LinearPackingTests {
    /// Float error of a dot product is bounded by n·ε·Σ|x·w|; the packed kernels add their own order (int32
    /// accumulation is exact; per-group float epilogues): 1e-5 of Σ|x·w| covers both with room.
    static let productRelativeTolerance: Float = 1e-5
    /// The logits of a whole tiny model with float activations: summation order only.
    static let logitTolerance: Float = 2e-3
    /// With int8 inputs, a summation-order difference upstream can move an input across a rounding boundary, which
    /// moves the logits by about one input step times the weights downstream.
    static let activationQuantizedLogitTolerance: Float = 0.1

    static func weight(_ out: Int, _ inFeatures: Int, seed: UInt64) -> Tensor {
        Tensor(shape: [out, inFeatures], scalars: Fixtures.uniform(count: out * inFeatures, seed: seed))
    }

    /// Weight schemes with a packed form, by name.
    static let schemes: [(String, QuantScheme)] = {
        func s(_ type: QuantDataType, _ g: QuantScheme.Granularity, group: Int? = nil, symmetric: Bool = true) -> QuantScheme {
            try! QuantScheme(dataType: type, granularity: g, groupSize: group, isSymmetric: symmetric)
        }
        return [
            ("int8 per-tensor", s(.int8, .perTensor)),
            ("int8 per-channel", s(.int8, .perChannel)),
            ("int8 g32", s(.int8, .perGroup, group: 32)),
            ("int4 sym g32", s(.int4, .perGroup, group: 32)),
            ("int4 asym g64", s(.int4, .perGroup, group: 64, symmetric: false)),
            ("uint4 asym g32", s(.uint4, .perGroup, group: 32, symmetric: false)),
            ("uint4 asym per-channel", s(.uint4, .perChannel, symmetric: false)),
            ("fp8 per-channel", s(.fp8_e4m3, .perChannel)),
            ("fp8 per-tensor", s(.fp8_e4m3, .perTensor)),
        ]
    }()

    /// int8 and FP8 (x = s·q) dequantize bit for bit; 4-bit codes are x = s·u + offset, two roundings where
    /// `QuantizedTensor` rounds s·(q − zp) once (and an asymmetric offset −s·zp is itself rounded): within 2 ulp of the
    /// largest value.
    @Test(arguments: [(7, 33), (3, 100), (5, 64), (2, 1)])
    func packingKeepsTheDequantizedValues(out: Int, inFeatures: Int) throws {
        for (name, scheme) in Self.schemes where !(scheme.granularity == .perGroup && scheme.groupSize! > inFeatures) {
            let stored = try TensorQuantizer.quantize(Self.weight(out, inFeatures, seed: 3), scheme: scheme)
            let packed = try #require(try PackedWeight.packing(stored), "\(name) has a packed form")
            let expected = try stored.dequantized().scalars, found = packed.dequantized()
            if scheme.dataType.bitWidth == 8 {
                #expect(found == expected, "\(name): largest difference \(Tolerance.maxAbsDifference(found, expected))")
            } else {
                let bound = 2 * (expected.map(abs).max() ?? 0).ulp
                #expect(Tolerance.maxAbsDifference(found, expected) <= bound, "\(name) [\(out), \(inFeatures)]")
            }
        }
    }

    @Test func formatsWithoutAPackedFormStayFloat() throws {
        // Weights in [0, 2]: an asymmetric int8 grid then has zero points far from 0.
        let w = Tensor(shape: [4, 64], scalars: Self.weight(4, 64, seed: 5).scalars.map { $0 + 1 })
        for scheme in [
            try QuantScheme(dataType: .int3, granularity: .perChannel),
            try QuantScheme(dataType: .int8, granularity: .perChannel, isSymmetric: false),
            try QuantScheme(dataType: .fp8_e5m2, granularity: .perChannel),
            try QuantScheme(dataType: .mxfp4_e2m1, granularity: .perBlock),
        ] {
            let stored = try TensorQuantizer.quantize(w, scheme: scheme)
            #expect(try PackedWeight.packing(stored) == nil, "\(scheme.dataType.rawValue)")
            var layer = Linear(weight: w, name: "x")
            try layer.setQuantizedWeight(stored)
            #expect(try layer.pack() == false)
            #expect(!layer.isPacked)
        }
    }

    static func inputQuantizers(columns: Int) throws -> [(String, ActivationQuantizer?)] {
        let staticParameters = try QuantParameters(granularity: .perTensor, shape: [1, columns], scales: [0.01], zeroPoints: [0])
        let asymmetric = try QuantParameters(granularity: .perTensor, shape: [1, columns], scales: [0.008], zeroPoints: [3])
        return [
            ("none", nil),
            ("int8 per-token", ActivationQuantizer(scheme: try QuantScheme(dataType: .int8, granularity: .perToken, isDynamic: true))),
            ("int8 static", ActivationQuantizer(scheme: try QuantScheme(dataType: .int8), parameters: staticParameters)),
            ("int8 static asym", ActivationQuantizer(scheme: try QuantScheme(dataType: .int8, isSymmetric: false), parameters: asymmetric)),
            ("fp8 static (float route)", ActivationQuantizer(
                scheme: try QuantScheme(dataType: .fp8_e4m3),
                parameters: try QuantParameters(granularity: .perTensor, shape: [1, columns], scales: [0.004], zeroPoints: [0]))),
        ]
    }

    /// Each weight scheme × input quantizer, ragged shapes, 1/3/17 rows, with and without bias and rotation: the packed
    /// layer's output equals the float layer's within `productRelativeTolerance` of Σ|x·w|.
    @Test(arguments: [(7, 33), (16, 100), (5, 64), (3, 128)])
    func packedLayerComputesTheFakeQuantOutput(out: Int, inFeatures: Int) throws {
        for (schemeName, scheme) in Self.schemes where !(scheme.granularity == .perGroup && scheme.groupSize! > inFeatures) {
            for (inputName, quantizer) in try Self.inputQuantizers(columns: inFeatures) {
                let bias = Tensor(shape: [out], scalars: Fixtures.uniform(count: out, seed: 9))
                var float = Linear(weight: Self.weight(out, inFeatures, seed: 4), bias: bias, name: "layer")
                try float.setQuantizedWeight(try TensorQuantizer.quantize(float.weight, scheme: scheme))
                float.inputQuantizer = quantizer
                var packed = float
                #expect(try packed.pack())
                #expect(packed.isPacked)
                for rows in [1, 3, 17] {
                    let x = Fixtures.uniform(count: rows * inFeatures, seed: UInt64(rows))
                    let expected = try Self.run(float, x, rows: rows), found = try Self.run(packed, x, rows: rows)
                    let bound = Self.productRelativeTolerance * Self.l1Bound(float.weight.scalars, x, rows: rows, inFeatures: inFeatures)
                    let difference = Tolerance.maxAbsDifference(found, expected)
                    #expect(difference <= bound, "\(schemeName) × \(inputName), rows \(rows): \(difference) > \(bound)")
                    // Hooks take the float route (a fake-quantized copy the hooks see): the same output.
                    let hooked = try Self.run(packed, x, rows: rows, hooks: CountingHooks())
                    #expect(Tolerance.maxAbsDifference(hooked, expected) <= bound, "\(schemeName) × \(inputName) with hooks")
                }
            }
        }
    }

    @Test func aPackedLayerReadsBackItsDequantizedWeightAndUnpacks() throws {
        var layer = Linear(weight: Self.weight(6, 40, seed: 2), name: "x")
        try layer.setQuantizedWeight(try TensorQuantizer.quantize(layer.weight, scheme: try QuantScheme(dataType: .int8, granularity: .perChannel)))
        let dequantized = layer.weight
        #expect(try layer.pack())
        #expect(layer.weight == dequantized)
        #expect(layer.weightShape == [6, 40] && layer.inFeatures == 40 && layer.outFeatures == 6)
        layer.unpack()
        #expect(!layer.isPacked && layer.weight == dequantized && layer.quantizedWeight != nil)
        #expect(try layer.pack())
        layer.weight.scalars[0] += 1  // writing the weight makes the layer float, without its stale codes
        #expect(!layer.isPacked && layer.quantizedWeight == nil && layer.weight.scalars[0] == dequantized.scalars[0] + 1)
    }

    @Test func inputQuantizersMapToKernelActivations() throws {
        let layer = Linear(weight: Self.weight(2, 8, seed: 1))
        #expect(layer.packedInputActivation == .float)
        let mapped = try Self.inputQuantizers(columns: 8).map { PackedActivation($0.1) }
        #expect(mapped[1] == .int8PerToken)
        #expect(mapped[2] == .int8Static(scale: 0.01, zeroPoint: 0))
        #expect(mapped[3] == .int8Static(scale: 0.008, zeroPoint: 3))
        #expect(mapped[4] == nil)
    }

    /// A tiny model with every linear quantized (int4 sym g32, int8 with per-token and static inputs, uint4 asym):
    /// the packed model's logits equal the fake-quant model's.
    @Test(arguments: [false, true])
    func tinyModelLogitsMatchTheFakeQuantModel(quantizesInputs: Bool) throws {
        let tolerance = quantizesInputs ? Self.activationQuantizedLogitTolerance : Self.logitTolerance
        var model = TinyLlama.model(tied: true)
        let perToken = try QuantScheme(dataType: .int8, granularity: .perToken, isDynamic: true)
        let schemes = [
            try QuantScheme(dataType: .int4, granularity: .perGroup, groupSize: 32),
            try QuantScheme(dataType: .int8, granularity: .perChannel),
            try QuantScheme(dataType: .uint4, granularity: .perGroup, groupSize: 16, isSymmetric: false),
        ]
        var index = 0
        for name in model.linearLayers.map(\.name) {
            try model.updateLinear(name) { layer in
                try layer.setQuantizedWeight(try TensorQuantizer.quantize(layer.weight, scheme: schemes[index % schemes.count]))
                if quantizesInputs && index % 3 == 1 { layer.inputQuantizer = ActivationQuantizer(scheme: perToken) }
            }
            index += 1
        }
        var packed = model
        let names = try packed.packLinears()
        #expect(names.count == model.linearLayers.count)
        #expect(packed.weightByteCount < model.weightByteCount)
        let tokens = [1, 5, 9, 2, 7, 3, 11]
        let expected = try model.logits(for: tokens), found = try packed.logits(for: tokens)
        let difference = Tolerance.maxAbsDifference(found.scalars, expected.scalars)
        #expect(difference < tolerance, "packed vs fake-quant logits differ by \(difference)")
        // Decode through the KV cache agrees too (rows == 1: the GEMV kernels).
        var cache = packed.makeCache(capacity: 16)
        _ = try packed.forward(tokens: Array(tokens.dropLast()), cache: &cache, logits: .none)
        let last = try packed.forward(tokens: [tokens.last!], cache: &cache, logits: .last)
        let vocabulary = model.vocabularySize
        let expectedLast = Array(expected.scalars[((tokens.count - 1) * vocabulary)...])
        #expect(Tolerance.maxAbsDifference(last.scalars, expectedLast) < tolerance)
        packed.unpackLinears()
        let anyPacked = packed.linearLayers.contains { $0.isPacked }
        #expect(!anyPacked)
    }

    static func run(_ layer: Linear, _ x: [Float], rows: Int, hooks: (any ForwardHooks)? = nil) throws -> [Float] {
        var y = [Float](repeating: 0, count: rows * layer.outFeatures)
        try x.withUnsafeBufferPointer { input in
            try y.withUnsafeMutableBufferPointer { output in
                try layer.forward(input.baseAddress!, rows: rows, into: output.baseAddress!, hooks: hooks)
            }
        }
        return y
    }

    /// max over outputs of Σ_k |x_k|·|w_k| + 1 (the scale of a dot product's rounding error; bias and activation
    /// rounding keep it at least 1).
    static func l1Bound(_ w: [Float], _ x: [Float], rows: Int, inFeatures: Int) -> Float {
        let out = w.count / inFeatures
        var bound: Float = 1
        for r in 0..<rows {
            for j in 0..<out {
                var sum: Float = 0
                for k in 0..<inFeatures { sum += abs(x[r * inFeatures + k] * w[j * inFeatures + k]) }
                bound = max(bound, sum + 1)
            }
        }
        return bound
    }
}

private final class CountingHooks: ForwardHooks {
    var calls = 0
    func linearInput(_ layer: String, _ input: UnsafePointer<Float>, rows: Int, columns: Int) { calls += 1 }
}
