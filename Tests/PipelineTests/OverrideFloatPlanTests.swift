import Foundation
import Inference
import Pipeline
import Quantization
import QuantCore
import Testing
import TestSupport

/// A plan honours `input: none` / `output: none`, in override order, through quantization, saving and reloading.
@Suite struct OverrideFloatPlanTests {
    @Test func laterOverridesWinOverTheFloatKeyword() throws {
        var recipe = try QuantRecipe.preset("w8a8-int8-static")
        recipe.output = try .init(dataType: .int8)
        recipe.overrides = [
            .init(pattern: "*.mlp.*", keepsInputFloat: true),
            .init(pattern: "*.mlp.down_proj", input: try .init(dataType: .int4)),
            .init(pattern: "*.self_attn.o_proj", keepsOutputFloat: true),
        ]
        let plan = try QuantizationPlan(recipe: recipe, model: TinyLlama.model())
        let byName = Dictionary(uniqueKeysWithValues: plan.layers.map { ($0.name, $0) })
        let up = try #require(byName["model.layers.0.mlp.up_proj"])
        #expect(up.input == nil && up.weight?.dataType == .int8 && up.output?.dataType == .int8)
        #expect(byName["model.layers.0.mlp.down_proj"]?.input?.dataType == .int4)
        #expect(byName["model.layers.1.self_attn.q_proj"]?.input?.dataType == .int8)
        let o = try #require(byName["model.layers.1.self_attn.o_proj"])
        #expect(o.output == nil && o.input?.dataType == .int8)
        #expect(plan.quantizedLayerCount == 14)
    }

    @Test func aYAMLRecipesFloatInputsStayFloatAfterSavingAndReloading() throws {
        let (modelPath, text, directory) = try TinyModelFiles.modelAndCalibrationText()
        let recipePath = directory + "/r.yaml"
        try """
            weight: {dtype: int8, granularity: per_channel}
            input: {dtype: int8}
            overrides:
              - pattern: "*.mlp.down_proj"
                input: none
            calibration: {file: \(text), samples: 2, seq_len: 16}
            """.write(toFile: recipePath, atomically: true, encoding: .utf8)
        let quantized = try ModelQuantization.run(try ModelLoader.load(modelPath), recipe: try RecipeLoader.load(recipePath))
        try QuantizedModelFolder.save(quantized, to: directory + "/q")
        let reloaded = try ModelLoader.load(directory + "/q")
        for model in [quantized.model, reloaded.model] {
            for linear in model.linearLayers where linear.name != "lm_head" {
                #expect((linear.inputQuantizer == nil) == linear.name.hasSuffix("mlp.down_proj"), "\(linear.name)")
            }
        }
    }
}
