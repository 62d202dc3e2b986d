import Inference
import Pipeline
import QuantCore
import Quantization
import TestSupport
import Testing

@Suite struct QuantizationPlanTests {
    @Test func overridesAndExclusionsResolvePerLayer() throws {
        let model = TinyLlama.model()
        var recipe = try QuantRecipe.preset("w8a8-int8-static")
        recipe.overrides = [
            .init(pattern: "*.mlp.down_proj", weight: try .init(dataType: .int4, granularity: .perGroup, groupSize: 16)),
            .init(pattern: "model.layers.1.self_attn.q_proj", exclude: true),
        ]
        let plan = try QuantizationPlan(recipe: recipe, model: model)
        let byName = Dictionary(uniqueKeysWithValues: plan.layers.map { ($0.name, $0) })
        #expect(byName["model.layers.0.mlp.down_proj"]?.weight?.dataType == .int4)
        #expect(byName["model.layers.0.mlp.down_proj"]?.input?.dataType == .int8)
        #expect(byName["model.layers.0.mlp.up_proj"]?.weight?.dataType == .int8)
        #expect(byName["model.layers.1.self_attn.q_proj"]?.isExcluded == true)
        #expect(plan.excludedLayerNames == ["model.layers.1.self_attn.q_proj", "lm_head"])
        #expect(plan.quantizedLayerCount == 13)
    }

    @Test func patternsMatchingNothingAndOversizedGroupsAreRejected() throws {
        let model = TinyLlama.model()
        var recipe = try QuantRecipe.preset("w8a16")
        recipe.overrides = [.init(pattern: "*.feed_forward.w1", exclude: true)]
        #expect(throws: QuantError.self) { try QuantizationPlan(recipe: recipe, model: model) }
        recipe.overrides = []
        recipe.weight = try .init(dataType: .int4, granularity: .perGroup, groupSize: 64)
        #expect(throws: QuantError.invalidConfiguration(
            field: "group_size", reason: "64 is larger than model.layers.0.self_attn.q_proj's input dimension 32")) {
            try QuantizationPlan(recipe: recipe, model: model)
        }
    }
}
