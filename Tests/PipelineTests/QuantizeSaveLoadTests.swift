import Foundation
import Inference
import Pipeline
import QuantCore
import Quantization
import TensorCore
import TestSupport
import Testing

@Suite struct QuantizeSaveLoadTests {
    static func fixture() throws -> (model: String, text: String, directory: String) {
        try TinyModelFiles.modelAndCalibrationText()
    }

    @Test(arguments: QuantRecipe.presetDescriptions.map(\.name))
    func everyPresetSavesAndReloadsBitIdentically(preset: String) throws {
        let (modelPath, text, directory) = try Self.fixture()
        var recipe = try QuantRecipe.preset(preset)
        recipe.calibration = .init(file: text, samples: 3, sequenceLength: 16, seed: 0)
        recipe.overrides = recipe.weight?.granularity == .perGroup
            ? [.init(pattern: "*", weight: try .init(dataType: .uint4, granularity: .perGroup, groupSize: 20, isSymmetric: false))]
            : []
        let loaded = try ModelLoader.load(modelPath)
        let quantized = try ModelQuantization.run(loaded, recipe: recipe)
        #expect(quantized.summary.quantizedLayers == 14)
        #expect(quantized.summary.excludedLayers == ["lm_head"])
        let out = directory + "/q"
        try QuantizedModelFolder.save(quantized, to: out)
        // No temporary folder is left beside the output.
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasPrefix(".q.quanta-tmp") }
        #expect(leftovers.isEmpty)
        let reloaded = try ModelLoader.load(out)
        for (a, b) in zip(quantized.loaded.model.linearLayers, reloaded.model.linearLayers) {
            #expect(a.weight.scalars == b.weight.scalars, "\(a.name) differs after reload")
        }
        #expect(reloaded.model.activationQuantizers == quantized.model.activationQuantizers)
        let tokens = [1, 100, 200, 258, 7, 33, 99, 12]
        let original = try quantized.model.logits(for: tokens)
        let again = try reloaded.model.logits(for: tokens)
        #expect(original.scalars == again.scalars)
        // Quantization changed something (it is not a no-op) but the model still resembles the float one.
        let float = try loaded.model.logits(for: tokens)
        #expect(float.scalars != original.scalars)
        #expect(Tolerance.maxAbsDifference(float.scalars, original.scalars) < 5)
    }

    @Test func staticPresetCalibratesEveryInput() throws {
        let (modelPath, text, _) = try Self.fixture()
        var recipe = try QuantRecipe.preset("w8a8-int8-static")
        recipe.calibration = .init(file: text, samples: 2, sequenceLength: 16, seed: 1)
        let quantized = try ModelQuantization.run(try ModelLoader.load(modelPath), recipe: recipe)
        #expect(quantized.summary.calibrationSamples == 2)
        #expect(quantized.summary.calibrationTokens == 32)
        let inputs = quantized.model.activationQuantizers.filter { $0.key.kind == .input }
        #expect(inputs.count == 14)
        #expect(inputs.values.allSatisfy { $0.parameters?.scales.count == 1 && $0.parameters!.scales[0] > 0 })
    }

    @Test func savingOverAnExistingFolderNeedsOverwrite() throws {
        let (modelPath, _, directory) = try Self.fixture()
        let quantized = try ModelQuantization.run(try ModelLoader.load(modelPath), recipe: try .preset("w8a16"))
        let out = directory + "/existing"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        #expect(throws: QuantizationError.outputExists(path: out)) {
            try QuantizedModelFolder.save(quantized, to: out)
        }
        try QuantizedModelFolder.save(quantized, to: out, overwrite: true)
        #expect(QuantizedModelFolder.isQuantizedFolder(out))
    }

    @Test func impossibleRecipeFilesFailBeforeAnyWork() throws {
        let (modelPath, _, directory) = try Self.fixture()
        let recipePath = directory + "/r.yaml"
        try "weight:\n  dtype: mxfp4_e2m1\n  group_size: 64\n".write(toFile: recipePath, atomically: true, encoding: .utf8)
        #expect(throws: QuantError.invalidConfiguration(field: "weight.group_size", reason: "OCP MX blocks hold 32 elements; got 64")) {
            try RecipeLoader.load(recipePath)
        }
        try "{\"weight\": {\"dtype\": \"int8\"}, \"overrides\": [{\"pattern\": \"*.attn.c_proj\", \"exclude\": true}]}"
            .write(toFile: directory + "/r.json", atomically: true, encoding: .utf8)
        let recipe = try RecipeLoader.load(directory + "/r.json")
        #expect(throws: QuantError.self) { try ModelQuantization.run(try ModelLoader.load(modelPath), recipe: recipe) }
        #expect(throws: QuantError.self) { try RecipeLoader.load("w3a16") }
    }
}

@Suite struct KVCacheQuantizationTests {
    /// Per tensor, and per head (groups of head_dim = 8 along each position's keys or values: one scale per KV head).
    @Test(arguments: ["fp8_e4m3", "int8"], ["", #", "granularity": "per_group", "group_size": 8"#])
    func staticKVCacheIsCalibratedAppliedAndSaved(dtype: String, granularity: String) throws {
        let (modelPath, text, directory) = try QuantizeSaveLoadTests.fixture()
        let recipe = try JSONDecoder().decode(QuantRecipe.self, from: Data("""
            {"name": "kv", "kv_cache": {"dtype": "\(dtype)"\(granularity)}, "calibration": {"file": "\(text)", "samples": 2, "seq_len": 16}}
            """.utf8))
        let loaded = try ModelLoader.load(modelPath)
        let quantized = try ModelQuantization.run(loaded, recipe: recipe)
        let kv = quantized.model.activationQuantizers.filter { $0.key.kind == .keys || $0.key.kind == .values }
        #expect(kv.count == 4)
        #expect(kv.values.allSatisfy { $0.parameters != nil })
        if !granularity.isEmpty {
            #expect(kv.values.allSatisfy { Set($0.parameters!.scales).count == 2 && $0.parameters!.scales.count == 16 }, "one scale per KV head")
        }
        let tokens = [5, 9, 200, 31, 77, 3]
        let float = try loaded.model.logits(for: tokens), kvQuantized = try quantized.model.logits(for: tokens)
        #expect(float.scalars != kvQuantized.scalars)
        #expect(Tolerance.maxAbsDifference(float.scalars, kvQuantized.scalars) < 0.5)
        try QuantizedModelFolder.save(quantized, to: directory + "/kv")
        let reloaded = try ModelLoader.load(directory + "/kv")
        #expect(try reloaded.model.logits(for: tokens).scalars == kvQuantized.scalars)
    }
}
