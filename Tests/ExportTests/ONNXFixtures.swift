import Foundation
import Inference
import QuantCore
import Quantization
import TensorCore
import TestSupport

/// The tiny models of the ONNX export tests: ExportFixtures' (hidden 64, FFN 128), a wider one whose rows hold
/// groups of 128 with a ragged last group (hidden 192 = 128 + 64, FFN 320 = 2·128 + 64), and W8A8 variants whose
/// static input scales are calibrated on a few tokens.
enum ONNXFixtures {
    enum Variant: String, CaseIterable, CustomStringConvertible {
        case float32, tiedFloat32, int8PerChannel, int8PerTensorAsymmetric, w4a16g32, w4a16g32Symmetric, w4a16g128
        case int3PerChannel, w8a8Static, w8a8StaticAsymmetricTied, w8a8DynamicPerToken, kvCacheInt8, fp8PerChannel
        case fp8Static
        var description: String { rawValue }
    }

    static let calibrationTokens = [3, 17, 65, 66, 100, 200, 7, 42, 256, 11, 12, 13]

    static func wideConfiguration() -> LlamaConfiguration {
        try! LlamaConfiguration(
            hiddenSize: 192, intermediateSize: 320, layerCount: 2, attentionHeadCount: 4, keyValueHeadCount: 2,
            vocabularySize: TinyModelFiles.vocabulary().tokens.count, rmsNormEpsilon: 1e-5, ropeTheta: 10_000,
            maxPositionEmbeddings: 64, tieWordEmbeddings: false)
    }

    static func model(_ variant: Variant) throws -> LlamaModel {
        switch variant {
        case .float32: return try ExportFixtures.floatModel()
        case .tiedFloat32: return try ExportFixtures.floatModel(tied: true)
        case .int8PerChannel: return try ExportFixtures.quantizedModel(try ExportFixtures.int8())
        case .int8PerTensorAsymmetric:
            return try ExportFixtures.quantizedModel(try ExportFixtures.int8(granularity: .perTensor, symmetric: false))
        case .w4a16g32: return try ExportFixtures.quantizedModel(try ExportFixtures.int4(symmetric: false))
        case .w4a16g32Symmetric: return try ExportFixtures.quantizedModel(try ExportFixtures.int4(symmetric: true))
        case .w4a16g128:
            let c = wideConfiguration()
            var model = try LlamaModel(configuration: c, tensors: TinyLlama.tensors(c, seed: 4))
            try quantizeLinears(&model, try ExportFixtures.int4(groupSize: 128, symmetric: false))
            return model
        case .int3PerChannel:
            return try ExportFixtures.quantizedModel(
                try QuantScheme(dataType: .int3, granularity: .perChannel, isSymmetric: true))
        case .w8a8Static:
            return try staticInputs(
                try ExportFixtures.quantizedModel(try ExportFixtures.int8()), try QuantScheme(dataType: .int8))
        case .w8a8StaticAsymmetricTied:
            return try staticInputs(
                try ExportFixtures.quantizedModel(try ExportFixtures.int8(), tied: true),
                try QuantScheme(dataType: .uint8, isSymmetric: false))
        case .fp8PerChannel:
            return try ExportFixtures.quantizedModel(try QuantScheme(dataType: .fp8_e4m3, granularity: .perChannel))
        case .fp8Static:
            // The `fp8` preset: E4M3 weights per channel, E4M3 inputs with a calibrated per-tensor scale.
            return try staticInputs(
                try ExportFixtures.quantizedModel(try QuantScheme(dataType: .fp8_e4m3, granularity: .perChannel)),
                try QuantScheme(dataType: .fp8_e4m3))
        case .w8a8DynamicPerToken:
            var model = try ExportFixtures.quantizedModel(try ExportFixtures.int8())
            let scheme = try QuantScheme(dataType: .int8, granularity: .perToken, isDynamic: true)
            let asymmetric = try QuantScheme(
                dataType: .uint8, granularity: .perToken, isSymmetric: false, scaleType: .float16, isDynamic: true)
            for (index, linear) in model.linearLayers.enumerated() {
                model.updateLinear(linear.name) {
                    $0.inputQuantizer = ActivationQuantizer(scheme: index % 2 == 0 ? scheme : asymmetric)
                }
            }
            return model
        case .kvCacheInt8:
            var model = try ExportFixtures.quantizedModel(try ExportFixtures.int4(symmetric: false))
            let scheme = try QuantScheme(dataType: .int8, granularity: .perToken, isDynamic: true)
            for index in model.blocks.indices {
                model.blocks[index].keyQuantizer = ActivationQuantizer(scheme: scheme)
                model.blocks[index].valueQuantizer = ActivationQuantizer(scheme: scheme)
            }
            return model
        }
    }

    static func quantizeLinears(_ model: inout LlamaModel, _ scheme: QuantScheme) throws {
        for linear in model.linearLayers {
            let stored = try TensorQuantizer.quantize(linear.weight, scheme: scheme)
            try model.updateLinear(linear.name) { try $0.setQuantizedWeight(stored) }
        }
    }

    /// Largest finite value of an FP8 format (what its scales divide by), nil for integers.
    static func formatMaximum(_ type: QuantDataType) -> Float? {
        type == .fp8_e4m3 ? 448 : type == .fp8_e5m2 ? 57_344 : nil
    }

    /// Static per-tensor input scales of `scheme` from the float inputs every linear sees on `calibrationTokens`.
    static func staticInputs(_ model: LlamaModel, _ scheme: QuantScheme) throws -> LlamaModel {
        var model = model
        let recorder = LinearInputRecorder()
        var cache = model.makeCache(capacity: calibrationTokens.count)
        _ = try model.forward(tokens: calibrationTokens, cache: &cache, hooks: recorder)
        for linear in model.linearLayers {
            let inputs = try require(recorder.inputs[linear.name])
            let parameters = try QuantParameters.compute(
                minimum: [inputs.min()!], maximum: [inputs.max()!], scheme: scheme,
                formatMaximum: formatMaximum(scheme.dataType))
            model.updateLinear(linear.name) {
                $0.inputQuantizer = ActivationQuantizer(scheme: scheme, parameters: parameters)
            }
        }
        return model
    }

    /// Quanta's logits for `tokens` from an empty cache, then for one more token: `[T · vocab]` and `[vocab]`.
    static func logits(_ model: LlamaModel, _ tokens: [Int], next: Int) throws -> (prefill: [Float], decode: [Float]) {
        var cache = model.makeCache(capacity: tokens.count + 1)
        let prefill = try model.forward(tokens: tokens, cache: &cache).scalars
        let decode = try model.forward(tokens: [next], cache: &cache).scalars
        return (prefill, decode)
    }
}

/// `#require` outside a test: throws instead of recording an issue.
private func require<T>(_ value: T?) throws -> T {
    guard let value else { throw FixtureError.missing }
    return value
}

private enum FixtureError: Error { case missing }
