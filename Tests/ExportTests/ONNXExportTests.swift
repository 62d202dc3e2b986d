import Foundation
import Inference
import ONNXProto
import QuantCore
import Quantization
import TensorCore
import TestSupport
import Testing

@testable import Export

/// Tiny models exported to ONNX and read back with Quanta's own reader: the same dequantized weights bit for bit,
/// the graph's interface and quantization nodes, external data, replacing outputs, refusals, damaged files.
@Suite struct ONNXExportTests {
    static let tokens = [5, 87, 256, 104, 33, 257, 12, 99]

    static func export(
        _ model: LlamaModel, _ configuration: ONNXExport.Configuration = .init(), directory: String? = nil
    ) throws -> (path: String, report: ONNXExport.Report) {
        let path = (directory ?? Fixtures.temporaryDirectory()) + "/m.onnx"
        return (path, try ONNXExport.export(try ExportFixtures.loaded(model), to: path, configuration: configuration))
    }

    static func proto(_ path: String) throws -> Onnx_ModelProto {
        try Onnx_ModelProto(serializedBytes: try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    @Test(arguments: ONNXFixtures.Variant.allCases)
    func weightsReadBackBitForBit(_ variant: ONNXFixtures.Variant) throws {
        let model = try ONNXFixtures.model(variant)
        let (path, report) = try Self.export(model)
        let (configuration, tensors) = try ONNXReadBack.read(path)
        #expect(configuration == model.configuration)
        // DequantizeLinear's (q − zero_point) · scale is Quanta's dequantization: identical floats.
        for linear in model.linearLayers where !(model.configuration.tieWordEmbeddings && linear.name == "lm_head") {
            let back = try #require(tensors[linear.name + ".weight"], "\(linear.name)")
            #expect(
                back == linear.weight,
                "\(linear.name): max difference \(Tolerance.maxAbsDifference(back.scalars, linear.weight.scalars))")
        }
        #expect(tensors["model.embed_tokens.weight"] == model.embedding)
        #expect(tensors["model.layers.1.post_attention_layernorm.weight"] == model.blocks[1].postAttentionNorm)
        let quantizedLayers = model.linearLayers.filter { $0.quantizedWeight != nil }.count
        #expect(report.layersFromCodes == quantizedLayers)
        // The read-back model (without activation quantizers) computes the same logits as the model's float weights.
        var plain = model
        for linear in model.linearLayers {
            plain.updateLinear(linear.name) {
                $0.inputQuantizer = nil
                $0.outputQuantizer = nil
            }
        }
        for index in plain.blocks.indices {
            plain.blocks[index].keyQuantizer = nil
            plain.blocks[index].valueQuantizer = nil
        }
        let back = try ONNXReadBack.model(path)
        #expect(try GGUFReadBack.logits(back, Self.tokens) == GGUFReadBack.logits(plain, Self.tokens))
    }

    @Test func theGraphHasOptimumsInterfaceAndDequantizeLinearWeights() throws {
        let model = try ONNXFixtures.model(.w4a16g32)
        let (path, report) = try Self.export(model)
        let proto = try Self.proto(path)
        #expect(proto.irVersion == 10 && proto.opsetImport.map(\.version) == [21])
        let c = model.configuration
        let inputs = proto.graph.input.map(\.name)
        #expect(Array(inputs.prefix(3)) == ["input_ids", "attention_mask", "position_ids"])
        #expect(
            inputs.dropFirst(3) == [
                "past_key_values.0.key", "past_key_values.0.value", "past_key_values.1.key", "past_key_values.1.value",
            ])
        #expect(
            proto.graph.output.map(\.name) == [
                "logits", "present.0.key", "present.0.value", "present.1.key", "present.1.value",
            ])
        let past = proto.graph.input[3].type.tensorType
        #expect(past.elemType == 1)
        #expect(past.shape.dim.map(\.dimParam) == ["batch_size", "", "past_sequence_length", ""])
        #expect(past.shape.dim.map(\.dimValue) == [0, Int64(c.keyValueHeadCount), 0, Int64(c.headDimension)])
        #expect(proto.graph.input[0].type.tensorType.elemType == 7)
        let dequantize = try #require(
            proto.graph.node.first { $0.output == ["model.layers.0.self_attn.q_proj.weight"] })
        #expect(dequantize.opType == "DequantizeLinear")
        #expect(
            Dictionary(uniqueKeysWithValues: dequantize.attribute.map { ($0.name, $0.i) }) == [
                "axis": 0, "block_size": 32,
            ])
        let codes = try #require(proto.graph.initializer.first { $0.name == dequantize.input[0] })
        #expect(codes.dataType == 21 && codes.dims == [64, 64] && codes.rawData.count == 64 * 64 / 2)
        let scales = try #require(proto.graph.initializer.first { $0.name == dequantize.input[1] })
        #expect(scales.dims == [2, 64])
        #expect(report.weightKinds == ["uint4, groups of 32": 15])
        // 4-bit codes plus a float32 scale and a 4-bit zero point per 32 weights.
        #expect(abs(report.linearBitsPerWeight - (4 + 36.0 / 32)) < 1e-9)
        #expect(!proto.graph.node.contains { $0.opType == "QuantizeLinear" })
    }

    @Test func staticAndDynamicActivationQuantizersBecomeNodes() throws {
        let (staticPath, staticReport) = try Self.export(try ONNXFixtures.model(.w8a8Static))
        let nodes = try Self.proto(staticPath).graph.node
        #expect(nodes.filter { $0.opType == "QuantizeLinear" }.count == 15)
        #expect(nodes.filter { $0.opType == "DequantizeLinear" }.count == 30)  // 15 activations + 15 weights
        #expect(staticReport.staticActivationQuantizers == 15 && staticReport.dynamicActivationQuantizers == 0)
        #expect(staticReport.weightKinds == ["int8 per output channel": 15])

        let (dynamicPath, dynamicReport) = try Self.export(try ONNXFixtures.model(.w8a8DynamicPerToken))
        let dynamicNodes = try Self.proto(dynamicPath).graph.node
        #expect(dynamicReport.dynamicActivationQuantizers == 15)
        #expect(!dynamicNodes.contains { $0.opType == "QuantizeLinear" })
        #expect(dynamicNodes.filter { $0.opType == "Round" }.count == 15 + 7)  // + the zero points of 7 asymmetric ones
        let (kvPath, kvReport) = try Self.export(try ONNXFixtures.model(.kvCacheInt8))
        #expect(kvReport.dynamicActivationQuantizers == 4)
        #expect(try Self.proto(kvPath).graph.node.contains { $0.name.hasPrefix("model.layers.1.self_attn.keys/") })
    }

    @Test func externalDataLivesBesideTheModelOnAlignedOffsets() throws {
        let model = try ONNXFixtures.model(.w4a16g32)
        let (path, report) = try Self.export(model, .init(externalData: .always))
        let dataPath = ONNXExport.dataFilePath(for: path)
        #expect(report.dataFile == dataPath)
        let dataBytes = try #require(try FileManager.default.attributesOfItem(atPath: dataPath)[.size] as? Int)
        #expect(report.dataFileBytes == dataBytes && dataBytes > report.fileBytes)
        let proto = try Self.proto(path)
        let external = proto.graph.initializer.filter { $0.dataLocation == .external }
        #expect(external.count > 15 && external.allSatisfy { $0.rawData.isEmpty })
        for tensor in external {
            let fields = Dictionary(uniqueKeysWithValues: tensor.externalData.map { ($0.key, $0.value) })
            #expect(fields["location"] == "m.onnx.data")
            #expect((Int(fields["offset"] ?? "") ?? 1) % 4096 == 0, "\(tensor.name): \(fields)")
        }
        let (_, tensors) = try ONNXReadBack.read(path)
        #expect(tensors["model.layers.1.mlp.down_proj.weight"] == model.blocks[1].downProjection.weight)
        #expect(tensors["model.embed_tokens.weight"] == model.embedding)
    }

    @Test func anExistingOutputIsReplacedOnlyWhenAsked() throws {
        let model = try ONNXFixtures.model(.int8PerChannel)
        let directory = Fixtures.temporaryDirectory()
        let path = directory + "/m.onnx"
        try Data("keep".utf8).write(to: URL(fileURLWithPath: path))
        let loaded = try ExportFixtures.loaded(model)
        #expect(throws: ExportError.outputExists(path: path)) { try ONNXExport.export(loaded, to: path) }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "keep")
        _ = try ONNXExport.export(loaded, to: path, configuration: .init(overwrite: true, externalData: .always))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).sorted() == ["m.onnx", "m.onnx.data"])
        // A data file alone also blocks a new export; replacing with an inline model removes the stale data file.
        try FileManager.default.removeItem(atPath: path)
        #expect(throws: ExportError.outputExists(path: path + ".data")) { try ONNXExport.export(loaded, to: path) }
        _ = try ONNXExport.export(loaded, to: path, configuration: .init(overwrite: true))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["m.onnx"])
        #expect(try ONNXReadBack.read(path).tensors.count == model.parameterTensorCount)
    }

    @Test func whatONNXCannotExpressIsRefusedBeforeWriting() throws {
        let directory = Fixtures.temporaryDirectory()
        let path = directory + "/m.onnx"
        let mx = try ExportFixtures.quantizedModel(try QuantScheme(dataType: .mxfp4_e2m1, granularity: .perBlock))
        #expect {
            try ONNXExport.export(try ExportFixtures.loaded(mx), to: path)
        } throws: { error in
            guard case let .onnxInexpressible(point, more, what, reason) = error as? ExportError else { return false }
            return point == "model.layers.0.self_attn.q_proj.weight" && more == 14 && what == "weight scheme"
                && reason.contains("mxfp4_e2m1") && "\(error)".contains("(and 14 more points)")
        }
        var perTensorDynamic = try ExportFixtures.quantizedModel(try ExportFixtures.int8())
        let scheme = try QuantScheme(dataType: .int8, granularity: .perTensor, isDynamic: true)
        perTensorDynamic.updateLinear("model.layers.1.mlp.up_proj") {
            $0.inputQuantizer = ActivationQuantizer(scheme: scheme)
        }
        #expect {
            try ONNXExport.export(try ExportFixtures.loaded(perTensorDynamic), to: path)
        } throws: { error in
            guard case let .onnxInexpressible(point, 0, "activation quantizer", reason) = error as? ExportError else {
                return false
            }
            return point == "model.layers.1.mlp.up_proj.input" && reason.contains("per-token")
        }
        var narrow = try ExportFixtures.quantizedModel(try ExportFixtures.int8())
        let narrowScheme = try QuantScheme(dataType: .int8, isNarrowRange: true)
        let parameters = try QuantParameters.compute(minimum: [-1], maximum: [1], scheme: narrowScheme)
        narrow.blocks[0].valueQuantizer = ActivationQuantizer(scheme: narrowScheme, parameters: parameters)
        #expect {
            try ONNXExport.export(try ExportFixtures.loaded(narrow), to: path)
        } throws: { error in
            guard case let .onnxInexpressible(point, 0, "KV-cache quantizer", reason) = error as? ExportError else {
                return false
            }
            return point == "model.layers.0.self_attn.values" && reason.contains("narrow-range")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty)
    }

    @Test func damagedFilesFailNamingTheFileAndTheProblem() throws {
        let (path, _) = try Self.export(try ONNXFixtures.model(.w4a16g32))
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let directory = Fixtures.temporaryDirectory()
        func expectUnreadable(
            _ data: Data, mentioning fragment: String, sourceLocation: SourceLocation = #_sourceLocation
        ) throws {
            let damaged = directory + "/damaged.onnx"
            try data.write(to: URL(fileURLWithPath: damaged))
            #expect(sourceLocation: sourceLocation) {
                try ONNXReadBack.read(damaged)
            } throws: { error in
                guard case let .unreadableONNX(file, reason) = error as? ExportError else { return false }
                return file == damaged && reason.contains(fragment)
            }
        }
        try expectUnreadable(Data(), mentioning: "empty")
        try expectUnreadable(bytes.prefix(bytes.count / 2), mentioning: "truncated")
        try expectUnreadable(bytes.prefix(bytes.count - 3), mentioning: "truncated")
        try expectUnreadable(Data("not a model at all, just text".utf8), mentioning: "protobuf")
        // A model whose embedding lost its bytes.
        var proto = try Self.proto(path)
        let index = try #require(proto.graph.initializer.firstIndex { $0.name == "model.embed_tokens.weight" })
        proto.graph.initializer[index].rawData.removeLast(8)
        try expectUnreadable(try proto.serializedBytes(), mentioning: "model.embed_tokens.weight")
        // External data that is missing or too short.
        let (externalPath, _) = try Self.export(try ONNXFixtures.model(.float32), .init(externalData: .always))
        let dataPath = ONNXExport.dataFilePath(for: externalPath)
        let data = try Data(contentsOf: URL(fileURLWithPath: dataPath))
        try data.prefix(data.count - 100).write(to: URL(fileURLWithPath: dataPath))
        #expect {
            try ONNXReadBack.read(externalPath)
        } throws: { error in
            guard case let .unreadableONNX(_, reason) = error as? ExportError else { return false }
            return reason.contains("past the end of m.onnx.data")
        }
        try FileManager.default.removeItem(atPath: dataPath)
        #expect {
            try ONNXReadBack.read(externalPath)
        } throws: { error in
            guard case let .unreadableONNX(_, reason) = error as? ExportError else { return false }
            return reason.contains("external data file") && reason.contains("cannot be read")
        }
    }

    @Test func rotaryTablesAreTheForwardPassAngles() throws {
        let c = try ONNXFixtures.model(.float32).configuration
        let (cosines, sines) = ONNXDecoderGraph.rotaryTables(c)
        let half = c.headDimension / 2
        #expect(cosines.count == c.maxPositionEmbeddings * half)
        for (position, i) in [(0, 0), (1, 1), (7, half - 1), (c.maxPositionEmbeddings - 1, 3)] {
            let angle = Double(position) / pow(Double(c.ropeTheta), Double(2 * i) / Double(c.headDimension))
            #expect(abs(Double(cosines[position * half + i]) - cos(angle)) < 1e-6)
            #expect(abs(Double(sines[position * half + i]) - sin(angle)) < 1e-6)
        }
    }
}

extension LlamaModel {
    /// Canonical tensors the model is built from (a tied head counted once).
    var parameterTensorCount: Int {
        2 + blocks.count * 9 + (configuration.tieWordEmbeddings ? 0 : 1)
            + linearLayers.filter { $0.bias != nil }.count
    }
}
