import Foundation
import Inference
import ModelFormats
import Pipeline
import QuantCore
import Quantization
import TensorCore
import TestSupport
import Testing

/// Runners load quantized weights straight into packed layers: GGUF Q8_0/Q4_0/Q4_1 tensors and a Quanta folder's
/// codes, never dequantized; the packed model computes what the float-loaded (fake-quant) model computes.
@Suite struct PackedLoadingTests {
    /// Logits of the tiny model, packed against dequantized-on-load: float summation order only.
    static let logitTolerance: Float = 1e-3
    /// With int8 inputs a summation-order difference upstream can move an input across a rounding boundary: about one
    /// input step times the weights downstream.
    static let activationQuantizedLogitTolerance: Float = 0.1

    /// Rewrites the tiny float GGUF with its 2-D tensors (those whose rows are whole blocks) as Q8_0, Q4_0 and Q4_1 in
    /// turn, the embedding table as Q4_1.
    static func quantizedGGUF(tied: Bool) throws -> (path: String, types: [String: GGMLType]) {
        let directory = Fixtures.temporaryDirectory()
        let floatPath = directory + "/f32.gguf", path = directory + "/q.gguf"
        try TinyModelFiles.writeGGUF(to: floatPath, configuration: TinyModelFiles.configuration(tied: tied))
        let file = try GGUFFile(path: floatPath)
        var writer = GGUFWriter()
        for key in file.metadata.keys.sorted() { writer.set(key, file.metadata[key]!) }
        let cycle: [GGMLType] = [.q8_0, .q4_0, .q4_1]
        var types: [String: GGMLType] = [:]
        for (index, info) in file.tensors.enumerated() {
            let tensor = try file.tensor(info.name)
            guard info.shape.count == 2, info.shape[1] % 32 == 0 else {
                try writer.addTensor(name: info.name, shape: info.shape, float32: tensor.scalars)
                continue
            }
            let type = info.name == "token_embd.weight" ? .q4_1 : cycle[index % cycle.count]
            types[info.name] = type
            try writer.addTensor(name: info.name, shape: info.shape, type: type, bytes: Self.encode(tensor.scalars, as: type))
        }
        try writer.write(to: path)
        return (path, types)
    }

    /// Round-to-nearest blocks of 32 (ggml-common.h layouts); any valid codes serve here.
    static func encode(_ values: [Float], as type: GGMLType) -> [UInt8] {
        var out: [UInt8] = []
        func half(_ x: Float) -> Float { Float(Float16(x)) }
        func append(_ x: Float) {
            let bits = Float16(x).bitPattern
            out += [UInt8(bits & 0xFF), UInt8(bits >> 8)]
        }
        for start in stride(from: 0, to: values.count, by: 32) {
            let block = Array(values[start..<(start + 32)])
            let low = block.min()!, high = block.max()!, amax = max(abs(low), abs(high))
            switch type {
            case .q8_0:
                let d = half(amax / 127)
                append(d)
                out += block.map { UInt8(bitPattern: Int8(max(-127, min(127, ($0 / d).rounded())))) }
            case .q4_0, .q4_1:
                let hasMinimum = type == .q4_1
                let d = half(hasMinimum ? (high - low) / 15 : amax / 7), m = half(low)
                append(d)
                if hasMinimum { append(m) }
                let codes = block.map { x -> UInt8 in
                    let q = hasMinimum ? ((x - m) / d).rounded() : (x / d).rounded() + 8
                    return UInt8(max(0, min(15, q)))
                }
                for j in 0..<16 { out.append(codes[j] | codes[j + 16] << 4) }
            default:
                preconditionFailure("test encoder: \(type.name)")
            }
        }
        return out
    }

    @Test(arguments: [true, false])
    func ggufBlocksLoadPackedAndComputeTheDequantizedModel(tied: Bool) throws {
        let (path, types) = try Self.quantizedGGUF(tied: tied)
        let float = try ModelLoader.load(path)
        let packed = try ModelLoader.load(path, options: .packed)
        #expect(packed.model.packedEmbedding != nil && float.model.packedEmbedding == nil)
        #expect(packed.model.lmHead.isPacked == (tied || types["output.weight"] != nil))
        for (floatLayer, packedLayer) in zip(float.model.linearLayers, packed.model.linearLayers) {
            #expect(!floatLayer.isPacked)
            guard packedLayer.isPacked else {
                #expect(packedLayer.weight == floatLayer.weight, "\(packedLayer.name) stays float")
                continue
            }
            // Q8_0 and Q4_0 values are exact; Q4_1's d·q + m may round once less (a fused multiply-add).
            let a = packedLayer.weight.scalars, b = floatLayer.weight.scalars
            let bound = 2 * (b.map(abs).max() ?? 0).ulp
            #expect(Tolerance.maxAbsDifference(a, b) <= bound, "\(packedLayer.name)")
        }
        #expect(packed.model.blocks.contains { $0.queryProjection.isPacked } && packed.model.blocks.contains { !$0.downProjection.isPacked })
        #expect(packed.model.weightByteCount < float.model.weightByteCount / 2)
        let tokens = [1, 100, 200, 258, 7, 33, 99, 12]
        let a = try packed.model.logits(for: tokens), b = try float.model.logits(for: tokens)
        let difference = Tolerance.maxAbsDifference(a.scalars, b.scalars)
        #expect(difference < Self.logitTolerance, "packed vs float GGUF logits differ by \(difference)")
        let run = try EngineBenchmark.greedyRun(packed.model, prompt: tokens, decodeTokens: 3)
        let reference = try EngineBenchmark.greedyRun(float.model, prompt: tokens, decodeTokens: 3)
        #expect(run.tokens == reference.tokens)
    }

    static func savedFolder(_ recipeJSON: String) throws -> String {
        let (modelPath, text, directory) = try TinyModelFiles.modelAndCalibrationText()
        let recipe = try JSONDecoder().decode(
            QuantRecipe.self, from: Data(recipeJSON.replacingOccurrences(of: "TEXT", with: text).utf8))
        let quantized = try ModelQuantization.run(try ModelLoader.load(modelPath), recipe: recipe)
        try QuantizedModelFolder.save(quantized, to: directory + "/q")
        return directory + "/q"
    }

    static let recipes = [
        #"{"name": "w8a8-static", "weight": {"dtype": "int8"}, "input": {"dtype": "int8"}, "calibration": {"file": "TEXT", "samples": 2, "seq_len": 16}}"#,
        #"{"name": "w8a8-dynamic", "weight": {"dtype": "int8", "granularity": "per_channel"}, "input": {"dtype": "int8", "granularity": "per_token", "dynamic": true}}"#,
        #"{"name": "w4a16-sym", "weight": {"dtype": "int4", "granularity": "per_group", "group_size": 32}}"#,
        #"{"name": "w4a16-asym", "weight": {"dtype": "uint4", "granularity": "per_group", "group_size": 16, "symmetric": false}, "exclude": []}"#,
        #"{"name": "fp8", "weight": {"dtype": "fp8_e4m3", "granularity": "per_channel"}, "input": {"dtype": "fp8_e4m3"}, "calibration": {"file": "TEXT", "samples": 2, "seq_len": 16}}"#,
    ]

    @Test(arguments: recipes)
    func savedFolderLoadsPackedAndComputesTheFakeQuantModel(recipe: String) throws {
        let folder = try Self.savedFolder(recipe)
        let float = try ModelLoader.load(folder)
        let packed = try ModelLoader.load(folder, options: .packed)
        let quantizedNames = Set(float.model.linearLayers.filter { $0.quantizedWeight != nil }.map(\.name))
        #expect(!quantizedNames.isEmpty)
        for layer in packed.model.linearLayers {
            #expect(layer.isPacked == quantizedNames.contains(layer.name), "\(layer.name)")
            #expect(layer.inputQuantizer == float.model.linearLayers.first { $0.name == layer.name }?.inputQuantizer)
        }
        let tokens = [1, 100, 200, 258, 7, 33, 99, 12]
        let a = try packed.model.logits(for: tokens), b = try float.model.logits(for: tokens)
        let difference = Tolerance.maxAbsDifference(a.scalars, b.scalars)
        let quantizesInputs = float.model.linearLayers.contains { $0.inputQuantizer != nil }
        let tolerance = quantizesInputs ? Self.activationQuantizedLogitTolerance : Self.logitTolerance
        #expect(difference < tolerance, "packed vs fake-quant logits differ by \(difference)")
    }
}
