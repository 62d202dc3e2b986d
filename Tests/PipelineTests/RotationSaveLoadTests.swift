import Foundation
import Inference
import Pipeline
import QuantAlgorithms
import QuantCore
import Quantization
import TensorCore
import TestSupport
import Testing

@Suite struct RotationSaveLoadTests {
    static let tokens = [1, 100, 200, 258, 7, 33, 99, 12]

    /// A rotated, quantized tiny model saved to a folder; returns the quantized model and the folder.
    static func savedRotatedModel(tied: Bool, preset: String) throws -> (QuantizedModel, String, Tensor) {
        let directory = Fixtures.temporaryDirectory()
        let modelPath = directory + "/m.gguf"
        try TinyModelFiles.writeGGUF(to: modelPath, configuration: TinyModelFiles.configuration(tied: tied))
        var loaded = try ModelLoader.load(modelPath)
        let floatLogits = try loaded.model.logits(for: tokens)
        let report = try Rotation(.init(seed: 11)).apply(to: &loaded.model)
        #expect(report.untiedLMHead == tied)
        let rotatedLogits = try loaded.model.logits(for: tokens)
        let relative =
            Tolerance.maxAbsDifference(floatLogits.scalars, rotatedLogits.scalars) / floatLogits.scalars.map(abs).max()!
        #expect(relative < 1e-4, "rotated float logits differ by \(relative) (relative)")
        let quantized = try ModelQuantization.run(loaded, recipe: try .preset(preset))
        let out = directory + "/q"
        try QuantizedModelFolder.save(quantized, to: out)
        return (quantized, out, floatLogits)
    }

    @Test(arguments: [(false, "w8a8-int8-dynamic"), (true, "w8a8-int8-dynamic"), (false, "w4a16-g32")])
    func rotatedModelSavesAndReloadsWithItsTransforms(tied: Bool, preset: String) throws {
        let (quantized, folder, floatLogits) = try Self.savedRotatedModel(tied: tied, preset: preset)
        let reloaded = try ModelLoader.load(folder)
        #expect(!reloaded.model.configuration.tieWordEmbeddings)
        for (a, b) in zip(quantized.loaded.model.linearLayers, reloaded.model.linearLayers) {
            #expect(a.weight.scalars == b.weight.scalars, "\(a.name) differs after reload")
            #expect(a.inputTransform == b.inputTransform, "\(a.name) transform differs after reload")
        }
        #expect(reloaded.model.blocks.allSatisfy { $0.downProjection.inputTransform != nil })
        #expect(reloaded.model.embedding == quantized.loaded.model.embedding)
        let original = try quantized.model.logits(for: Self.tokens)
        let again = try reloaded.model.logits(for: Self.tokens)
        #expect(original.scalars == again.scalars)
        // Still close to the float model it came from.
        #expect(Tolerance.maxAbsDifference(floatLogits.scalars, again.scalars) < 5)
        let json = try String(contentsOfFile: folder + "/quantization.json", encoding: .utf8)
        #expect(json.contains("\"input_transforms\"") && json.contains("\"version\" : 2"))
    }

    @Test func unrotatedFoldersStayVersionOne() throws {
        let directory = Fixtures.temporaryDirectory()
        let modelPath = directory + "/m.gguf"
        try TinyModelFiles.writeGGUF(to: modelPath, configuration: TinyModelFiles.configuration())
        let quantized = try ModelQuantization.run(try ModelLoader.load(modelPath), recipe: try .preset("w8a16"))
        try QuantizedModelFolder.save(quantized, to: directory + "/q")
        let json = try String(contentsOfFile: directory + "/q/quantization.json", encoding: .utf8)
        #expect(!json.contains("input_transforms") && json.contains("\"version\" : 1"))
    }

    /// Rewrites the first down_proj's transform description in the saved quantization.json.
    static func corrupt(_ folder: String, _ change: (inout [String: Any]) -> Void) throws {
        let path = folder + "/quantization.json"
        var object = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        var transforms = try #require(object["input_transforms"] as? [String: Any])
        var first = try #require(transforms["model.layers.0.mlp.down_proj"] as? [String: Any])
        change(&first)
        transforms["model.layers.0.mlp.down_proj"] = first
        object["input_transforms"] = transforms
        try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: path))
    }

    @Test func transformsThisBuildCannotRebuildAreErrors() throws {
        let (_, folder, _) = try Self.savedRotatedModel(tied: false, preset: "w8a16")
        let cases: [(String, (inout [String: Any]) -> Void)] = [
            (
                "input transform of model.layers.0.mlp.down_proj: kind 'givens' is not one this build applies (randomized_hadamard)",
                { $0["kind"] = "givens" }
            ),
            (
                "input transform of model.layers.0.mlp.down_proj: \(HadamardError.unsupportedBaseSize(dimension: 48, baseSize: 6))",
                { $0["base_size"] = 6 }
            ),
            (
                "input transform of model.layers.0.mlp.down_proj: negative_signs has 4 hex digits, expected 12",
                { $0["negative_signs"] = "ffff" }
            ),
            (
                "input transform of model.layers.0.mlp.down_proj has dimension 32, the layer reads 48",
                {
                    $0["dimension"] = 32; $0["base_size"] = 1; $0["negative_signs"] = "00000000"
                }
            ),
        ]
        for (reason, change) in cases {
            let copy = Fixtures.temporaryDirectory() + "/q"
            try FileManager.default.copyItem(atPath: folder, toPath: copy)
            try Self.corrupt(copy, change)
            #expect(throws: QuantizationError.invalidFolder(path: copy + "/quantization.json", reason: reason)) {
                _ = try ModelLoader.load(copy)
            }
        }
    }
}
