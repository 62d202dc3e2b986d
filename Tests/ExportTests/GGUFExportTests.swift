import Foundation
import Inference
import ModelFormats
import QuantCore
import Quantization
import TensorCore
import TestSupport
import Testing

@testable import Export

/// Tiny models exported and read back with ModelFormats' GGUF reader: types, shapes, metadata, the q/k row order,
/// the saved codes kept, refusals and their conversions.
@Suite struct GGUFExportTests {
    /// Logit tolerance, relative to the largest logit, for a file whose only change is float16 scales (weights move
    /// by about 2⁻¹¹ of themselves): half a percent (the tiny model's random weights amplify changes through 15
    /// layers to about 0.2%; one changed 4-bit code per block would move them by several percent).
    static let scaleRoundingLogitTolerance: Float = 5e-3

    /// Largest logit difference over the largest logit magnitude.
    static func relativeDifference(_ logits: [Float], _ expected: [Float]) -> Float {
        Tolerance.maxAbsDifference(logits, expected) / expected.map { abs($0) }.max()!
    }

    static let tokens = [5, 87, 256, 104, 33, 257, 12, 99]

    static func export(_ model: LlamaModel, _ configuration: GGUFExport.Configuration = .init(floatWeightType: .f32))
        throws -> (path: String, report: GGUFExport.Report)
    {
        let path = Fixtures.temporaryDirectory() + "/m.gguf"
        return (path, try GGUFExport.export(try ExportFixtures.loaded(model), to: path, configuration: configuration))
    }

    @Test(arguments: [(true, GGMLType.q4_0), (false, .q4_1)])
    func int4GroupsAreWrittenFromTheirCodes(symmetric: Bool, type: GGMLType) throws {
        let model = try ExportFixtures.quantizedModel(try ExportFixtures.int4(symmetric: symmetric))
        let (path, report) = try Self.export(model)
        let file = try GGUFFile(path: path)
        #expect(file.version == 3)
        let q = try file.info("blk.0.attn_q.weight")
        #expect(q.type == type && q.dimensions == [64, 64])
        #expect(try file.info("blk.1.ffn_down.weight").dimensions == [128, 64])
        #expect(try file.info("blk.0.attn_norm.weight").type == .f32)
        #expect(try file.info("token_embd.weight").type == .f32)
        #expect(report.layersFromCodes == 15 && report.requantizedLayers.isEmpty)
        // Codes kept: float16 scales move a weight by far less than one step (a changed code moves it by ≥ 1).
        #expect(report.scaleRounding.maxChangeInSteps < 0.02, "\(report.scaleRounding)")
        #expect(report.scaleRounding.elementCount == model.linearLayers.reduce(0) { $0 + $1.weight.elementCount })
        // Weights read back (q/k rows un-permuted) are Quanta's within the measured change.
        let back = try GGUFReadBack.tensors(file, configuration: model.configuration)
        for linear in model.linearLayers {
            let stored = try #require(back[linear.name + ".weight"])
            let difference = Tolerance.maxAbsDifference(stored.scalars, linear.weight.scalars)
            #expect(difference <= report.scaleRounding.maxAbsoluteChange, "\(linear.name)")
        }
        let logits = try GGUFReadBack.logits(
            try GGUFReadBack.model(path, configuration: model.configuration), Self.tokens)
        let expected = try GGUFReadBack.logits(model, Self.tokens)
        #expect(Self.relativeDifference(logits, expected) < Self.scaleRoundingLogitTolerance)
    }

    @Test func int8PerChannelIsQ8_0AndTheTiedHeadIsTheEmbedding() throws {
        let model = try ExportFixtures.quantizedModel(try ExportFixtures.int8(), tied: true)
        let (path, report) = try Self.export(model, .init(floatWeightType: .f16))
        let file = try GGUFFile(path: path)
        #expect(try file.info("blk.1.ffn_gate.weight").type == .q8_0)
        #expect(try file.info("token_embd.weight").type == .f16)
        #expect((try? file.info("output.weight")) == nil)
        #expect(report.tensorTypes == ["Q8_0": 14, "F32": 5, "F16": 1])
        #expect(file.metadata["general.file_type"] == .uint32(7))
    }

    @Test func metadataDescribesTheModelAndItsTokenizer() throws {
        let model = try ExportFixtures.quantizedModel(try ExportFixtures.int4(symmetric: false))
        let (path, _) = try Self.export(model)
        let file = try GGUFFile(path: path)
        let c = model.configuration
        #expect(try file.string("general.architecture") == "llama")
        #expect(try file.integer("llama.block_count") == c.layerCount)
        #expect(try file.integer("llama.embedding_length") == 64)
        #expect(try file.integer("llama.feed_forward_length") == 128)
        #expect(try file.integer("llama.attention.head_count") == 4)
        #expect(try file.integer("llama.attention.head_count_kv") == 2)
        #expect(try file.integer("llama.rope.dimension_count") == 16)
        #expect(try file.float("llama.attention.layer_norm_rms_epsilon") == Double(Float(1e-5)))
        #expect(file.metadata["general.file_type"] == .uint32(3))
        let v = TinyModelFiles.vocabulary()
        #expect(try file.strings("tokenizer.ggml.tokens") == v.tokens)
        #expect(try file.strings("tokenizer.ggml.merges") == v.merges)
        #expect(try file.integers("tokenizer.ggml.token_type") == v.tokenTypes.map(Int.init))
        #expect(try file.string("tokenizer.ggml.pre") == "gpt-2")
        #expect(try file.integer("tokenizer.ggml.eos_token_id") == v.tokens.count - 1)
    }

    @Test func aSchemeNoTypeHoldsIsRefusedThenRequantizedWithItsCost() throws {
        let model = try ExportFixtures.quantizedModel(try ExportFixtures.int4(groupSize: 16, symmetric: false))
        let path = Fixtures.temporaryDirectory() + "/m.gguf"
        let loaded = try ExportFixtures.loaded(model)
        #expect {
            try GGUFExport.export(loaded, to: path)
        } throws: { error in
            guard case let .inexpressibleScheme(layer, more, scheme, _, nearest) = error as? ExportError else {
                return false
            }
            return layer == "model.layers.0.self_attn.q_proj" && more == 14 && scheme == "uint4 asymmetric groups of 16"
                && nearest == .q4_1 && "\(error)".contains("nearest GGML type is Q4_1")
        }
        #expect(!FileManager.default.fileExists(atPath: path))
        let report = try GGUFExport.export(loaded, to: path, configuration: .init(requantizeType: .q4_1))
        #expect(report.requantizedLayers.count == 15 && report.layersFromCodes == 0)
        // Re-quantizing 16-groups into 32-blocks costs accuracy, and the report measures it.
        #expect(report.requantization.relativeRMSChange > 1e-3 && report.requantization.relativeRMSChange < 0.2)
        #expect(try GGUFFile(path: path).info("blk.0.ffn_up.weight").type == .q4_1)
    }

    @Test func anOnlineRotationIsRefusedThenFoldedIntoTheWeight() throws {
        var model = try ExportFixtures.quantizedModel(try ExportFixtures.int4(symmetric: false))
        let transform = try HadamardTransform(dimension: 128, seed: 3)
        model.updateLinear("model.layers.1.mlp.down_proj") { $0.inputTransform = transform }
        let path = Fixtures.temporaryDirectory() + "/m.gguf"
        let loaded = try ExportFixtures.loaded(model)
        #expect {
            try GGUFExport.export(loaded, to: path)
        } throws: { error in
            guard case let .onlineTransform(layer, more, dimension, nearest) = error as? ExportError else {
                return false
            }
            return layer == "model.layers.1.mlp.down_proj" && more == 0 && dimension == 128 && nearest == .q4_1
                && "\(error)".contains("online_down_projection: false")
        }
        let report = try GGUFExport.export(
            loaded, to: path, configuration: .init(floatWeightType: .f32, requantizeType: .f32))
        #expect(report.requantizedLayers == ["model.layers.1.mlp.down_proj"])
        // Folded in float32, the file computes the rotated model's function without the online transform.
        let logits = try GGUFReadBack.logits(
            try GGUFReadBack.model(path, configuration: model.configuration), Self.tokens)
        let expected = try GGUFReadBack.logits(model, Self.tokens)
        #expect(Self.relativeDifference(logits, expected) < Self.scaleRoundingLogitTolerance)
    }

    @Test func activationQuantizersAreRefusedThenDropped() throws {
        var model = try ExportFixtures.quantizedModel(try ExportFixtures.int8())
        let scheme = try QuantScheme(dataType: .int8, granularity: .perToken, isDynamic: true)
        model.updateLinear("model.layers.0.mlp.up_proj") {
            $0.inputQuantizer = ActivationQuantizer(scheme: scheme, parameters: nil)
        }
        let path = Fixtures.temporaryDirectory() + "/m.gguf"
        let loaded = try ExportFixtures.loaded(model)
        #expect(throws: ExportError.activationQuantization(point: "model.layers.0.mlp.up_proj.input", morePoints: 0)) {
            try GGUFExport.export(loaded, to: path)
        }
        let report = try GGUFExport.export(loaded, to: path, configuration: .init(requantizeType: .q8_0))
        #expect(report.droppedQuantizers == ["model.layers.0.mlp.up_proj.input"] && report.requantizedLayers.isEmpty)
    }

    @Test func anExistingOutputIsReplacedOnlyWhenAsked() throws {
        let model = try ExportFixtures.quantizedModel(try ExportFixtures.int8())
        let directory = Fixtures.temporaryDirectory()
        let path = directory + "/m.gguf"
        try Data("keep".utf8).write(to: URL(fileURLWithPath: path))
        let loaded = try ExportFixtures.loaded(model)
        #expect(throws: ExportError.outputExists(path: path)) { try GGUFExport.export(loaded, to: path) }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "keep")
        _ = try GGUFExport.export(loaded, to: path, configuration: .init(overwrite: true))
        #expect(try GGUFFile(path: path).tensors.count == 21)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["m.gguf"])
    }

    @Test func aFloatModelIsQuantizedToTheRequestedType() throws {
        let model = try ExportFixtures.floatModel()
        let (path, report) = try Self.export(model, .init(floatWeightType: .q8_0))
        let file = try GGUFFile(path: path)
        #expect(Set(file.tensors.filter { $0.dimensions.count == 2 }.map(\.type)) == [.q8_0])
        #expect(report.floatConversion.relativeRMSChange > 0 && report.floatConversion.relativeRMSChange < 0.01)
    }

    @Test func aModelWithoutATokenizerIsRefused() throws {
        let model = try ExportFixtures.floatModel()
        let loaded = LoadedModel(path: "t", model: model, tokenizer: nil, chatTemplate: nil, summary: "")
        #expect(throws: ExportError.self) {
            try GGUFExport.export(loaded, to: Fixtures.temporaryDirectory() + "/m.gguf")
        }
    }

    @Test func rowOrderMatchesTheTensorPermutation() {
        let weight = Tensor(shape: [32, 3], scalars: (0..<96).map(Float.init))
        let permuted = RotaryPermutation.huggingFaceToGGUF(weight, headCount: 2)
        let order = RotaryPermutation.huggingFaceRowsInGGUFOrder(rowCount: 32, headCount: 2)
        for (ggufRow, hfRow) in order.enumerated() {
            #expect(Array(permuted.row(ggufRow)) == Array(weight.row(hfRow)))
        }
    }
}
