import Foundation
import Inference
import ModelFormats
import Pipeline
import QuantCore
import Quantization
import TensorCore
import TestSupport
import Testing

/// A saved folder is checked as strictly as a downloaded model: each test corrupts one field of a folder saved from
/// the tiny model (in `quantization.json` or the tensor it describes) and expects the load to fail with an error that
/// names the layer and the field.
@Suite struct SavedFolderValidationTests {
    static let layer = "model.layers.0.mlp.down_proj"

    /// One stored tensor: dtype, shape and little-endian bytes.
    struct Stored {
        var elementType: ElementType
        var shape: [Int]
        var bytes: [UInt8]
    }

    /// A folder saved by `quanta quantize`'s code path with `weight` (for every layer) or a preset.
    static func savedFolder(preset: String = "w8a16", weight: QuantScheme? = nil) throws -> String {
        let (model, text, directory) = try TinyModelFiles.modelAndCalibrationText()
        var recipe = try QuantRecipe.preset(preset)
        recipe.calibration = .init(file: text, samples: 2, sequenceLength: 16, seed: 0)
        if let weight { recipe.overrides = [.init(pattern: "*", weight: weight)] }
        let quantized = try ModelQuantization.run(try ModelLoader.load(model), recipe: recipe)
        let out = directory + "/q"
        try QuantizedModelFolder.save(quantized, to: out)
        return out
    }

    /// uint4 per-group asymmetric with a group size that does not divide the row (48 = 2·20 + 8).
    static func groupedScheme() throws -> QuantScheme {
        try QuantScheme(dataType: .uint4, granularity: .perGroup, groupSize: 20, isSymmetric: false)
    }

    static func editDescription(_ folder: String, _ edit: (inout [String: Any]) throws -> Void) throws {
        let path = folder + "/quantization.json"
        var object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        try edit(&object)
        try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]).write(to: URL(fileURLWithPath: path))
    }

    /// Rewrites `model.safetensors` after `edit` changes its tensors.
    static func editTensors(_ folder: String, _ edit: (inout [String: Stored]) throws -> Void) throws {
        let path = folder + "/model.safetensors"
        var tensors: [String: Stored] = [:]
        let metadata: [String: String]
        do {
            let file = try SafetensorsFile(path: path)
            metadata = file.metadata
            for name in file.names {
                let info = try file.info(name)
                tensors[name] = Stored(elementType: info.elementType, shape: info.shape, bytes: Array(try file.rawBytes(name)))
            }
        }
        try edit(&tensors)
        var writer = SafetensorsWriter(metadata: metadata)
        for name in tensors.keys.sorted() {
            let t = tensors[name]!
            writer.add(name, bytes: t.bytes, elementType: t.elementType, shape: t.shape)
        }
        try writer.write(to: path)
    }

    /// Overwrites elements of an F32 tensor of a GGUF file in place: element `i` becomes `value(i)` unless nil.
    static func patchGGUF(_ path: String, tensor name: String, value: (Int) -> Float?) throws {
        let file = try GGUFFile(path: path)
        let tensor = try #require(file.tensors.first { $0.name == name })
        try #require(tensor.type == .f32)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        for index in 0..<tensor.elementCount {
            guard let replacement = value(index) else { continue }
            let at = file.dataOffset + tensor.offset + 4 * index
            bytes.replaceSubrange(at..<(at + 4), with: float32Bytes([replacement]))
        }
        try bytes.write(to: URL(fileURLWithPath: path))
    }

    static func float32Bytes(_ values: [Float]) -> [UInt8] {
        values.flatMap { value in withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) } }
    }

    static func int32Bytes(_ values: [Int32]) -> [UInt8] {
        values.flatMap { value in withUnsafeBytes(of: value.littleEndian) { Array($0) } }
    }

    /// Loads `folder` and expects `invalidSavedLayer` for `layer` and `field`, with both in the message.
    static func expectRejected(_ folder: String, layer: String = layer, field: String, reason fragment: String? = nil) {
        let error = #expect(throws: QuantizationError.self) { _ = try ModelLoader.load(folder) }
        guard case let .invalidSavedLayer(_, foundLayer, foundField, reason)? = error else {
            Issue.record("expected invalidSavedLayer for \(layer) \(field), got \(String(describing: error))")
            return
        }
        #expect(foundLayer == layer, "\(error!)")
        #expect(foundField == field, "\(error!)")
        let message = "\(error!)"
        #expect(message.contains("layer \(layer), field \(field)"), "\(message)")
        if let fragment { #expect(reason.contains(fragment), "\(message)") }
    }

    static func setLayerField(_ object: inout [String: Any], layer: String = layer, _ edit: (inout [String: Any]) -> Void) throws {
        var layers = try #require(object["layers"] as? [String: Any])
        var entry = try #require(layers[layer] as? [String: Any])
        edit(&entry)
        layers[layer] = entry
        object["layers"] = layers
    }

    static func setParameterField(_ object: inout [String: Any], key: String, value: Any) throws {
        try setLayerField(&object) { entry in
            var weight = entry["weight"] as! [String: Any]
            var parameters = weight["parameters"] as! [String: Any]
            parameters[key] = value
            weight["parameters"] = parameters
            entry["weight"] = weight
        }
    }

    @Test func anUntouchedFolderLoads() throws {
        let folder = try Self.savedFolder(weight: try Self.groupedScheme())
        _ = try ModelLoader.load(folder)
    }

    @Test func aLayerShapeThatIsNotTheTensorsIsNamed() throws {
        let folder = try Self.savedFolder(weight: try Self.groupedScheme())
        try Self.editDescription(folder) { try Self.setLayerField(&$0) { $0["shape"] = [48, 32] } }
        Self.expectRejected(folder, field: "weight.parameters.shape")
        try Self.editDescription(folder) { try Self.setLayerField(&$0) { $0["shape"] = [32, 48, 1] } }
        Self.expectRejected(folder, field: "shape")
    }

    @Test func aLayerShapeTheModelDoesNotHaveIsNamed() throws {
        let folder = try Self.savedFolder()
        // Both the description and the parameters agree on a shape, and the codes fit it, but config.json disagrees.
        try Self.editDescription(folder) { object in
            try Self.setLayerField(&object) { entry in
                entry["shape"] = [48, 32]
                var weight = entry["weight"] as! [String: Any]
                var parameters = weight["parameters"] as! [String: Any]
                parameters["shape"] = [48, 32]
                weight["parameters"] = parameters
                entry["weight"] = weight
            }
        }
        try Self.editTensors(folder) { tensors in
            let key = Self.layer + ".weight_scale"
            tensors[key]!.bytes = Self.float32Bytes([Float](repeating: 0.01, count: 48))
            tensors[key]!.shape = [48]
            tensors[Self.layer + ".weight_zero_point"] = Stored(elementType: .int32, shape: [48], bytes: Self.int32Bytes([Int32](repeating: 0, count: 48)))
        }
        Self.expectRejected(folder, field: "shape", reason: "config.json")
    }

    @Test func aGroupSizeThatIsNotTheSchemesIsNamed() throws {
        let folder = try Self.savedFolder(weight: try Self.groupedScheme())
        try Self.editDescription(folder) { try Self.setParameterField(&$0, key: "group_size", value: 16) }
        Self.expectRejected(folder, field: "weight.parameters.group_size")
    }

    @Test func aCodeByteCountThatIsNotTheElementCountsIsNamed() throws {
        let folder = try Self.savedFolder(weight: try Self.groupedScheme())
        try Self.editTensors(folder) { tensors in
            tensors[Self.layer + ".weight"]!.bytes.removeLast()
            tensors[Self.layer + ".weight"]!.shape = [tensors[Self.layer + ".weight"]!.bytes.count]
        }
        Self.expectRejected(folder, field: "weight", reason: "code bytes")
    }

    @Test func aWeightStoredAsFloatIsNamed() throws {
        let folder = try Self.savedFolder()
        try Self.editTensors(folder) { tensors in
            tensors[Self.layer + ".weight"] = Stored(elementType: .float32, shape: [32, 48], bytes: Self.float32Bytes([Float](repeating: 0, count: 32 * 48)))
        }
        Self.expectRejected(folder, field: "weight", reason: "expected U8")
    }

    @Test func scaleAndZeroPointCountsAreNamed() throws {
        let folder = try Self.savedFolder(weight: try Self.groupedScheme())
        // 32 rows · ⌈48 / 20⌉ = 96 groups.
        try Self.editTensors(folder) { tensors in
            tensors[Self.layer + ".weight_scale"]!.bytes.removeLast(4)
            tensors[Self.layer + ".weight_scale"]!.shape = [95]
        }
        Self.expectRejected(folder, field: "weight_scale", reason: "needs 96")
        let other = try Self.savedFolder(weight: try Self.groupedScheme())
        try Self.editTensors(other) { tensors in
            tensors[Self.layer + ".weight_zero_point"]!.bytes += [0, 0, 0, 0]
            tensors[Self.layer + ".weight_zero_point"]!.shape = [97]
        }
        Self.expectRejected(other, field: "weight_zero_point", reason: "needs 96")
    }

    @Test(arguments: [Float.nan, .infinity, 0, -0.5])
    func aScaleThatIsNotFiniteAndPositiveIsNamed(scale: Float) throws {
        let folder = try Self.savedFolder(weight: try Self.groupedScheme())
        try Self.editTensors(folder) { tensors in
            let key = Self.layer + ".weight_scale"
            tensors[key]!.bytes.replaceSubrange(12..<16, with: Self.float32Bytes([scale]))
        }
        Self.expectRejected(folder, field: "weight_scale", reason: "at index 3 is not finite and positive")
    }

    @Test func aZeroPointOutsideTheCodeRangeIsNamed() throws {
        let folder = try Self.savedFolder(weight: try Self.groupedScheme())
        try Self.editTensors(folder) { tensors in
            tensors[Self.layer + ".weight_zero_point"]!.bytes.replaceSubrange(0..<4, with: Self.int32Bytes([16]))
        }
        Self.expectRejected(folder, field: "weight_zero_point", reason: "outside uint4's [0, 15]")
    }

    @Test func aCodeOutsideTheSchemesRangeIsNamed() throws {
        // Narrow-range int8 stores codes in [-127, 127]: -128 (0x80) is not a code it can write.
        let scheme = try QuantScheme(dataType: .int8, granularity: .perChannel, isNarrowRange: true)
        let folder = try Self.savedFolder(weight: scheme)
        try Self.editTensors(folder) { tensors in tensors[Self.layer + ".weight"]!.bytes[5] = 0x80 }
        Self.expectRejected(folder, field: "weight", reason: "code -128 at element 5")
    }

    @Test func aNaNCodeOfAFloatFormatIsNamed() throws {
        let folder = try Self.savedFolder(preset: "fp8")
        try Self.editTensors(folder) { tensors in tensors[Self.layer + ".weight"]!.bytes[7] = 0x7F }
        Self.expectRejected(folder, field: "weight", reason: "at element 7 is NaN")
    }

    @Test func aNaNBlockScaleOfAnMXFormatIsNamed() throws {
        let folder = try Self.savedFolder(preset: "mxfp4")
        try Self.editTensors(folder) { tensors in tensors[Self.layer + ".weight_block_scale"]!.bytes[2] = 0xFF }
        Self.expectRejected(folder, field: "weight_block_scale", reason: "index 2")
    }

    @Test func aLayerTheModelDoesNotHaveIsNamed() throws {
        let folder = try Self.savedFolder()
        let ghost = "model.layers.5.mlp.down_proj"
        try Self.editDescription(folder) { object in
            var layers = object["layers"] as! [String: Any]
            layers[ghost] = layers[Self.layer]
            object["layers"] = layers
        }
        try Self.editTensors(folder) { tensors in
            for suffix in [".weight", ".weight_scale", ".weight_zero_point"] { tensors[ghost + suffix] = tensors[Self.layer + suffix] }
        }
        Self.expectRejected(folder, layer: ghost, field: "name", reason: "no such linear layer")
    }

    @Test func aLayerTheDescriptionLeavesOutIsNamed() throws {
        let folder = try Self.savedFolder()
        try Self.editDescription(folder) { object in
            var layers = object["layers"] as! [String: Any]
            layers[Self.layer] = nil
            object["layers"] = layers
        }
        try Self.editTensors(folder) { tensors in
            tensors[Self.layer + ".weight"] = Stored(elementType: .float32, shape: [32, 48], bytes: Self.float32Bytes([Float](repeating: 0.01, count: 32 * 48)))
            tensors[Self.layer + ".weight_scale"] = nil
            tensors[Self.layer + ".weight_zero_point"] = nil
        }
        Self.expectRejected(folder, field: "layers", reason: "does not describe it")
    }

    @Test func anActivationScaleThatIsNaNIsNamed() throws {
        let folder = try Self.savedFolder(preset: "w8a8-int8-static")
        let point = "model.layers.0.self_attn.q_proj.input"
        try Self.editTensors(folder) { tensors in
            tensors[point + "_scale"]!.bytes = Self.float32Bytes([.nan])
        }
        Self.expectRejected(folder, layer: point, field: "input_scale", reason: "not finite and positive")
    }

    @Test func aMissingScaleTensorIsNamed() throws {
        let folder = try Self.savedFolder(weight: try Self.groupedScheme())
        try Self.editTensors(folder) { tensors in tensors[Self.layer + ".weight_scale"] = nil }
        Self.expectRejected(folder, field: "weight_scale", reason: "missing")
    }
}

/// NaN or infinite weights are an error at load that names the tensor, whatever the format.
@Suite struct NonFiniteWeightTests {
    @Test(arguments: [Float.nan, .infinity])
    func aSafetensorsFolderWithABadWeightIsNamed(bad: Float) throws {
        let directory = Fixtures.temporaryDirectory() + "/hf"
        try TinyModelFiles.writeHuggingFaceFolder(to: directory, configuration: TinyModelFiles.configuration())
        try SavedFolderValidationTests.editTensors(directory) { tensors in
            let name = "model.layers.1.mlp.up_proj.weight"
            tensors[name]!.bytes.replaceSubrange(40..<44, with: SavedFolderValidationTests.float32Bytes([bad]))
        }
        #expect(throws: ModelError.nonFiniteWeight("model.layers.1.mlp.up_proj.weight")) { _ = try ModelLoader.load(directory) }
    }

    @Test func aSavedFolderWithABadFloatWeightIsNamed() throws {
        let folder = try SavedFolderValidationTests.savedFolder()
        try SavedFolderValidationTests.editTensors(folder) { tensors in
            tensors["model.layers.0.input_layernorm.weight"]!.bytes.replaceSubrange(0..<4, with: SavedFolderValidationTests.float32Bytes([-.infinity]))
        }
        #expect(throws: ModelError.nonFiniteWeight("model.layers.0.input_layernorm.weight")) { _ = try ModelLoader.load(folder) }
    }

    @Test func aGGUFWithANaNWeightIsNamed() throws {
        let (model, _, _) = try TinyModelFiles.modelAndCalibrationText()
        try SavedFolderValidationTests.patchGGUF(model, tensor: "blk.1.ffn_down.weight") { $0 == 9 ? .nan : nil }
        #expect(throws: ModelError.nonFiniteWeight("model.layers.1.mlp.down_proj.weight")) { _ = try ModelLoader.load(model) }
    }
}
