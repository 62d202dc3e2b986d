import Foundation
import Inference
import ModelFormats
import QuantCore
import Quantization
import TensorCore
import TestSupport
import Testing

@testable import Export

/// Reads an exported compressed-tensors folder back as HuggingFaceModelSource does (config.json, then
/// `CompressedTensorsFolder`), without Pipeline.
enum CompressedTensorsReadBack {
    static func load(_ directory: String) throws -> LlamaModel {
        let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/config.json"))
        let configuration = try JSONDecoder().decode(LlamaConfiguration.self, from: data)
        let quantization = try #require(
            try CompressedTensorsFolder.configuration(configJSON: data, path: directory + "/config.json"))
        let contents = try CompressedTensorsFolder.load(
            directory: directory, configuration: configuration, quantization: quantization)
        var model = try LlamaModel(configuration: configuration, tensors: contents.tensors)
        try contents.install(into: &model)
        return model
    }

    static func quantizationConfig(_ directory: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/config.json"))
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        return try #require(object["quantization_config"] as? [String: Any])
    }
}

@Suite struct CompressedTensorsExportTests {
    enum Case: String, CaseIterable {
        case int4GroupSymmetric, uint4GroupAsymmetric, uint4TensorAsymmetric, int8Channel, uint8ChannelAsymmetric
        case int2Group, fp8Channel, fp8Tensor

        var scheme: QuantScheme {
            get throws {
                switch self {
                case .int4GroupSymmetric: try ExportFixtures.int4(symmetric: true)
                case .uint4GroupAsymmetric: try ExportFixtures.int4(symmetric: false)
                case .uint4TensorAsymmetric: try QuantScheme(dataType: .uint4, isSymmetric: false)
                case .int8Channel: try ExportFixtures.int8()
                case .uint8ChannelAsymmetric:
                    try QuantScheme(dataType: .uint8, granularity: .perChannel, isSymmetric: false)
                case .int2Group: try QuantScheme(dataType: .int2, granularity: .perGroup, groupSize: 32)
                case .fp8Channel: try QuantScheme(dataType: .fp8_e4m3, granularity: .perChannel)
                case .fp8Tensor: try QuantScheme(dataType: .fp8_e4m3)
                }
            }
        }

        /// The scheme compressed-tensors stores: signed integers (unsigned codes move down by 2^(b−1)).
        var readBackDataType: QuantDataType {
            switch self {
            case .int4GroupSymmetric, .uint4GroupAsymmetric, .uint4TensorAsymmetric: .int4
            case .int8Channel, .uint8ChannelAsymmetric: .int8
            case .int2Group: .int2
            case .fp8Channel, .fp8Tensor: .fp8_e4m3
            }
        }

        var format: String {
            switch self {
            case .fp8Channel, .fp8Tensor: "float-quantized"
            default: "pack-quantized"
            }
        }
    }

    static func export(_ model: LlamaModel, floatType: CompressedTensorsExport.FloatType = .f32) throws -> (
        String, CompressedTensorsExport.Report
    ) {
        let directory = Fixtures.temporaryDirectory() + "/ct"
        let report = try CompressedTensorsExport.export(
            try ExportFixtures.loaded(model), to: directory, configuration: .init(floatType: floatType))
        return (directory, report)
    }

    /// Every linear of the read-back model dequantizes to exactly the weights Quanta computes with.
    @Test(arguments: Case.allCases)
    func readingTheExportBackGivesTheSameWeightsAndLogits(_ choice: Case) throws {
        let model = try ExportFixtures.quantizedModel(try choice.scheme)
        let (directory, report) = try Self.export(model)
        #expect(report.format == choice.format && report.quantizedLayers == 15 && report.floatLayers.isEmpty)
        let back = try CompressedTensorsReadBack.load(directory)
        #expect(back.embedding == model.embedding)
        for (original, read) in zip(model.linearLayers, back.linearLayers) {
            let stored = try #require(read.quantizedWeight, "\(read.name) lost its codes")
            #expect(stored.scheme.dataType == choice.readBackDataType)
            let scheme = try choice.scheme
            #expect(stored.scheme.isSymmetric == scheme.isSymmetric)
            let difference = Tolerance.maxAbsDifference(original.weight.scalars, try stored.dequantized().scalars)
            #expect(difference == 0, "\(read.name): largest difference \(difference)")
            #expect(read.weight == original.weight)
        }
        let tokens = [5, 87, 256, 104, 33]
        #expect(try GGUFReadBack.logits(back, tokens) == GGUFReadBack.logits(model, tokens))
    }

    @Test func theConfigAndTensorsFollowTheCompressedTensorsLayout() throws {
        let model = try ExportFixtures.quantizedModel(try ExportFixtures.int4(symmetric: false), tied: true)
        let (directory, report) = try Self.export(model, floatType: .bf16)
        let q = try CompressedTensorsReadBack.quantizationConfig(directory)
        #expect(q["quant_method"] as? String == "compressed-tensors")
        #expect(q["format"] as? String == "pack-quantized")
        #expect(q["quantization_status"] as? String == "compressed")
        #expect(q["ignore"] as? [String] == ["lm_head"])
        let groups = try #require(q["config_groups"] as? [String: [String: Any]])
        #expect(Array(groups.keys) == ["group_0"])
        #expect(groups["group_0"]?["targets"] as? [String] == ["Linear"])
        let weights = try #require(groups["group_0"]?["weights"] as? [String: Any])
        #expect(weights["num_bits"] as? Int == 4 && weights["type"] as? String == "int")
        #expect(weights["symmetric"] as? Bool == false && weights["strategy"] as? String == "group")
        #expect(weights["group_size"] as? Int == 32 && weights["dynamic"] as? Bool == false)
        #expect(groups["group_0"]?["input_activations"] is NSNull)
        let config = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory + "/config.json")))
                as? [String: Any])
        #expect(
            config["architectures"] as? [String] == ["LlamaForCausalLM"]
                && config["torch_dtype"] as? String == "bfloat16")
        #expect(config["tie_word_embeddings"] as? Bool == true && config["num_key_value_heads"] as? Int == 2)

        let file = try SafetensorsFile(path: directory + "/model.safetensors")
        let down = "model.layers.1.mlp.down_proj"  // [64, 128]
        #expect(try file.info(down + ".weight_packed").elementType == .int32)
        #expect(try file.info(down + ".weight_packed").shape == [64, 16])
        #expect(try file.info(down + ".weight_scale").shape == [64, 4])
        #expect(try file.info(down + ".weight_scale").elementType == .float32)
        #expect(try file.info(down + ".weight_zero_point").shape == [8, 4])
        #expect(try file.info(down + ".weight_zero_point").elementType == .int32)
        #expect(try file.tensor(down + ".weight_shape").scalars == [64, 128])
        #expect(try file.info("model.embed_tokens.weight").elementType == .bfloat16)
        #expect(!file.contains("lm_head.weight") && !file.contains(down + ".weight"))
        #expect(report.tokenizerFiles == ["tokenizer.json", "tokenizer_config.json", "generation_config.json"])
        let tokenizerConfig =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: directory + "/tokenizer_config.json"))) as? [String: String]
        #expect(tokenizerConfig?["tokenizer_class"] == "PreTrainedTokenizerFast")
    }

    /// compressed-tensors' `pack_to_int32`: codes + 2^(b−1), element i of a row at bits [i·b, (i+1)·b).
    @Test func packingMatchesTheReferenceBitOrder() {
        let codes: [Int32] = [0, 1, 2, 3, 4, 5, 6, 7, -8, -7]
        let packed = CompressedTensorsPacking.pack(codes, rows: 1, columns: 10, bitWidth: 4)
        #expect(packed == [Int32(bitPattern: 0xFEDC_BA98), 0x0000_0010])
        // 3 bits cross words: element 10 sits at bits 30..32.
        let three = CompressedTensorsPacking.pack([Int32](repeating: 3, count: 11), rows: 1, columns: 11, bitWidth: 3)
        #expect(three == [Int32(bitPattern: 0xFFFF_FFFF), 0x1])
        // Columns: zero points [4 rows, 2 groups] pack down the rows.
        let columns = CompressedTensorsPacking.packColumns(
            [1, -1, 2, -2, 3, -3, 4, -4], rows: 4, columns: 2, bitWidth: 4)
        #expect(columns == [Int32(0xCBA9), Int32(0x4567)])
    }

    @Test(arguments: [1, 2, 3, 4, 5, 8], [1, 7, 31, 32, 33])
    func packingRoundTrips(bitWidth: Int, columns: Int) {
        let rows = 3
        let low = -(1 << (bitWidth - 1)), span = 1 << bitWidth
        let codes = (0..<(rows * columns)).map { Int32(low + ($0 * 7 + 3) % span) }
        let packed = CompressedTensorsPacking.pack(codes, rows: rows, columns: columns, bitWidth: bitWidth)
        #expect(packed.count == rows * CompressedTensorsPacking.wordCount(count: columns, bitWidth: bitWidth))
        #expect(CompressedTensorsPacking.unpack(packed, rows: rows, columns: columns, bitWidth: bitWidth) == codes)
        let byColumns = CompressedTensorsPacking.packColumns(codes, rows: rows, columns: columns, bitWidth: bitWidth)
        #expect(
            CompressedTensorsPacking.unpackColumns(byColumns, rows: rows, columns: columns, bitWidth: bitWidth) == codes
        )
    }

    /// Several schemes: `mixed-precision`, one format per group, projections as regexes, a float layer in `ignore`.
    @Test func mixedSchemesBecomeGroupsWithTheirOwnFormats() throws {
        var model = try ExportFixtures.floatModel()
        let int4 = try ExportFixtures.int4(symmetric: false), int8 = try ExportFixtures.int8()
        for linear in model.linearLayers where linear.name != "model.layers.0.mlp.up_proj" {
            let scheme = linear.name.hasSuffix("down_proj") || linear.name == "lm_head" ? int8 : int4
            try model.updateLinear(linear.name) {
                try $0.setQuantizedWeight(try TensorQuantizer.quantize($0.weight, scheme: scheme))
            }
        }
        // Static int8 inputs on the down projections make their int8 weights `int-quantized`.
        let input = try QuantScheme(dataType: .int8)
        for index in 0..<2 {
            let parameters = try QuantParameters(granularity: .perTensor, shape: [], scales: [0.02], zeroPoints: [0])
            _ = model.updateLinear("model.layers.\(index).mlp.down_proj") {
                $0.inputQuantizer = ActivationQuantizer(scheme: input, parameters: parameters)
            }
        }
        let (directory, report) = try Self.export(model)
        #expect(report.format == "mixed-precision" && report.floatLayers == ["model.layers.0.mlp.up_proj"])
        let q = try CompressedTensorsReadBack.quantizationConfig(directory)
        #expect(q["ignore"] as? [String] == ["model.layers.0.mlp.up_proj"])
        let groups = try #require(q["config_groups"] as? [String: [String: Any]])
        #expect(groups["group_0"]?["format"] as? String == "pack-quantized")
        #expect(
            groups["group_0"]?["targets"] as? [String] == [
                #"re:.*self_attn\.q_proj$"#, #"re:.*self_attn\.k_proj$"#, #"re:.*self_attn\.v_proj$"#,
                #"re:.*self_attn\.o_proj$"#, #"re:.*mlp\.gate_proj$"#, "model.layers.1.mlp.up_proj",
            ])
        #expect(groups["group_1"]?["format"] as? String == "int-quantized")
        #expect(groups["group_1"]?["targets"] as? [String] == [#"re:.*mlp\.down_proj$"#])
        #expect((groups["group_1"]?["input_activations"] as? [String: Any])?["strategy"] as? String == "tensor")
        #expect(groups["group_2"]?["targets"] as? [String] == ["lm_head"])
        let file = try SafetensorsFile(path: directory + "/model.safetensors")
        #expect(try file.info("model.layers.0.mlp.down_proj.weight").elementType == .int8)
        #expect(try file.tensor("model.layers.1.mlp.down_proj.input_scale").scalars == [0.02])

        let back = try CompressedTensorsReadBack.load(directory)
        for (original, read) in zip(model.linearLayers, back.linearLayers) {
            #expect(read.weight == original.weight, "\(read.name)")
            #expect((read.quantizedWeight == nil) == (original.quantizedWeight == nil), "\(read.name)")
            #expect(read.inputQuantizer?.scheme == original.inputQuantizer?.scheme, "\(read.name)")
            #expect(read.inputQuantizer?.parameters?.scales == original.inputQuantizer?.parameters?.scales)
        }
    }

    @Test func aStaticFP8KVCacheBecomesTheKVCacheScheme() throws {
        var model = try ExportFixtures.quantizedModel(try QuantScheme(dataType: .fp8_e4m3, granularity: .perChannel))
        let kv = try QuantScheme(dataType: .fp8_e4m3)
        for index in model.blocks.indices {
            let p = { (s: Float) in
                try QuantParameters(granularity: .perTensor, shape: [], scales: [s], zeroPoints: [0])
            }
            model.blocks[index].keyQuantizer = ActivationQuantizer(
                scheme: kv, parameters: try p(0.01 * Float(index + 1)))
            model.blocks[index].valueQuantizer = ActivationQuantizer(scheme: kv, parameters: try p(0.005))
        }
        let (directory, report) = try Self.export(model)
        #expect(report.kvCacheQuantized)
        let q = try CompressedTensorsReadBack.quantizationConfig(directory)
        let scheme = try #require(q["kv_cache_scheme"] as? [String: Any])
        #expect(
            scheme["type"] as? String == "float" && scheme["num_bits"] as? Int == 8
                && scheme["strategy"] as? String == "tensor")
        let file = try SafetensorsFile(path: directory + "/model.safetensors")
        #expect(try file.tensor("model.layers.1.self_attn.k_scale").scalars == [0.02])
        let back = try CompressedTensorsReadBack.load(directory)
        #expect(back.blocks[1].keyQuantizer?.parameters?.scales == [0.02])
        #expect(back.blocks[0].valueQuantizer?.scheme == kv)
        let tokens = [5, 87, 256]
        #expect(try GGUFReadBack.logits(back, tokens) == GGUFReadBack.logits(model, tokens))
    }

    static func expectRefusal(_ model: LlamaModel, mentioning fragments: [String]) throws {
        let directory = Fixtures.temporaryDirectory() + "/refused"
        do {
            _ = try CompressedTensorsExport.export(try ExportFixtures.loaded(model), to: directory)
            Issue.record("exported a model it should refuse")
        } catch let error as ExportError {
            guard case .notCompressedTensors = error else { Issue.record("unexpected \(error)"); return }
            for fragment in fragments { #expect("\(error)".contains(fragment), "\(error) should mention \(fragment)") }
        }
        #expect(!FileManager.default.fileExists(atPath: directory))
    }

    @Test func schemesCompressedTensorsCannotHoldAreRefusedNamingTheLayer() throws {
        let first = "model.layers.0.self_attn.q_proj (and 14 more places)"
        try Self.expectRefusal(
            try ExportFixtures.quantizedModel(try QuantScheme(dataType: .mxfp4_e2m1, granularity: .perBlock)),
            mentioning: [first, "OCP MX"])
        try Self.expectRefusal(
            try ExportFixtures.quantizedModel(try QuantScheme(dataType: .fp8_e5m2)), mentioning: [first, "E5M2"])
        try Self.expectRefusal(
            try ExportFixtures.quantizedModel(try QuantScheme(dataType: .int3, granularity: .perGroup, groupSize: 32)),
            mentioning: [first, "3-bit"])
        try Self.expectRefusal(
            try ExportFixtures.quantizedModel(try QuantScheme(dataType: .int4, granularity: .perChannel, axis: 1)),
            mentioning: [first, "axis 1"])
        try Self.expectRefusal(
            try ExportFixtures.quantizedModel(try ExportFixtures.int4(groupSize: 48, symmetric: true)),
            mentioning: [first, "not a multiple of group size 48"])
        var rotated = try ExportFixtures.quantizedModel(try ExportFixtures.int4(symmetric: true))
        let transform = try HadamardTransform(dimension: 128, seed: 3)
        _ = rotated.updateLinear("model.layers.1.mlp.down_proj") { $0.inputTransform = transform }
        try Self.expectRefusal(rotated, mentioning: ["model.layers.1.mlp.down_proj:", "online", "Hadamard"])
        var narrow = try ExportFixtures.quantizedModel(try ExportFixtures.int8())
        let narrowInput = ActivationQuantizer(
            scheme: try QuantScheme(dataType: .int8, isNarrowRange: true),
            parameters: try QuantParameters(granularity: .perTensor, shape: [], scales: [0.1], zeroPoints: [0]))
        _ = narrow.updateLinear("model.layers.0.mlp.up_proj") { $0.inputQuantizer = narrowInput }
        try Self.expectRefusal(narrow, mentioning: ["model.layers.0.mlp.up_proj.input", "narrow-range"])
    }

    @Test func aTruncatedOrCorruptedExportFailsToLoadWithAClearError() throws {
        let model = try ExportFixtures.quantizedModel(try ExportFixtures.int4(symmetric: false))
        let (directory, _) = try Self.export(model)
        let weights = directory + "/model.safetensors", config = directory + "/config.json"
        let bytes = try Data(contentsOf: URL(fileURLWithPath: weights))
        let original = try Data(contentsOf: URL(fileURLWithPath: config))
        // Truncated data section.
        try bytes.prefix(bytes.count - 100).write(to: URL(fileURLWithPath: weights))
        #expect(throws: FormatError.self) { try CompressedTensorsReadBack.load(directory) }
        try bytes.write(to: URL(fileURLWithPath: weights))
        // A group size the scales do not fit.
        let edited = String(decoding: original, as: UTF8.self).replacingOccurrences(
            of: "\"group_size\" : 32", with: "\"group_size\" : 16")
        try Data(edited.utf8).write(to: URL(fileURLWithPath: config))
        do {
            _ = try CompressedTensorsReadBack.load(directory)
            Issue.record("loaded a folder whose scales do not fit its group size")
        } catch let error as QuantizationError {
            #expect(
                "\(error)".contains("weight_scale") && "\(error)".contains("128 scales; group needs 256"), "\(error)")
        }
        // A missing tensor.
        try original.write(to: URL(fileURLWithPath: config))
        let file = try SafetensorsFile(path: weights)
        var writer = SafetensorsWriter()
        for name in file.names where name != "model.layers.0.mlp.up_proj.weight_zero_point" {
            let info = try file.info(name)
            writer.add(name, bytes: try file.rawBytes(name), elementType: info.elementType, shape: info.shape)
        }
        try writer.write(to: weights + ".new")
        try FileManager.default.removeItem(atPath: weights)
        try FileManager.default.moveItem(atPath: weights + ".new", toPath: weights)
        #expect(
            throws: QuantizationError.invalidFolder(
                path: directory, reason: "missing tensor model.layers.0.mlp.up_proj.weight_zero_point")
        ) {
            try CompressedTensorsReadBack.load(directory)
        }
        // Another quantization method is named, not ignored.
        try Data(
            String(decoding: original, as: UTF8.self).replacingOccurrences(
                of: "\"compressed-tensors\"", with: "\"gptq\""
            ).utf8
        )
        .write(to: URL(fileURLWithPath: config))
        #expect(throws: QuantizationError.self) { try CompressedTensorsReadBack.load(directory) }
    }

    @Test func anExistingOutputIsKeptWithoutOverwrite() throws {
        let loaded = try ExportFixtures.loaded(try ExportFixtures.quantizedModel(try ExportFixtures.int8()))
        let directory = Fixtures.temporaryDirectory() + "/ct"
        _ = try CompressedTensorsExport.export(loaded, to: directory)
        #expect(throws: ExportError.outputExists(path: directory)) {
            try CompressedTensorsExport.export(loaded, to: directory)
        }
        _ = try CompressedTensorsExport.export(loaded, to: directory, configuration: .init(overwrite: true))
    }
}
