import Pipeline
import QuantCore
import Quantization
import Testing

/// The ladder `quanta tune` climbs: which schemes a raised layer takes for each kind of recipe.
struct TuneCandidatesTests {
    @Test func raisedStaticW8A8TakesPerChannelWeightsAndPerTokenInputs() throws {
        let recipe = try QuantRecipe.preset("w8a8-int8-static")
        #expect(TuneCandidates.levels(for: recipe) == [.raised, .floatInput, .float])
        let raised = TuneCandidates.recipe(recipe, raising: ["model.layers.0.mlp.down_proj"], to: .raised)
        let override = try #require(raised.overrides.last)
        #expect(override.pattern == "model.layers.0.mlp.down_proj")
        #expect(override.weight?.dataType == .int8 && override.weight?.granularity == .perChannel)
        #expect(override.input?.isDynamic == true && override.input?.granularity == .perToken)
        // Float-input keeps the raised weights.
        let floatInput = TuneCandidates.recipe(recipe, raising: ["model.layers.0.mlp.down_proj"], to: .floatInput)
        #expect(floatInput.overrides.last?.weight?.granularity == .perChannel)
        #expect(floatInput.overrides.last?.keepsInputFloat == true)
    }

    @Test func raisedW4TakesInt8PerChannelWeights() throws {
        let recipe = try QuantRecipe.preset("w4a16-g128")
        #expect(TuneCandidates.levels(for: recipe) == [.raised, .float])
        let raised = TuneCandidates.recipe(recipe, raising: ["model.layers.1.self_attn.o_proj"], to: .raised)
        #expect(raised.overrides.last?.weight?.dataType == .int8)
        #expect(raised.overrides.last?.weight?.granularity == .perChannel)
        #expect(raised.overrides.last?.input == nil)
    }

    @Test func dynamicW8A8HasNothingToRaise() throws {
        // Per-channel int8 weights and per-token dynamic inputs are already the raised schemes.
        let recipe = try QuantRecipe.preset("w8a8-int8-dynamic")
        #expect(TuneCandidates.levels(for: recipe) == [.floatInput, .float])
    }
}
