import Foundation
import QuantAlgorithms
import QuantCore
import Quantization
import Testing

@Suite struct RecipeTests {
    static func decode(_ json: String) throws -> QuantRecipe {
        try JSONDecoder().decode(QuantRecipe.self, from: Data(json.utf8))
    }

    @Test func everyPresetIsValid() throws {
        for (name, _) in QuantRecipe.presetDescriptions {
            let recipe = try QuantRecipe.preset(name)
            #expect(recipe.name == name)
            #expect(recipe.exclude == ["lm_head"])
        }
        #expect(try QuantRecipe.preset("w8a8-int8-static").needsCalibration)
        #expect(try !QuantRecipe.preset("w4a16-g128").needsCalibration)
        #expect(try !QuantRecipe.preset("w8a8-int8-dynamic").needsCalibration)
    }

    @Test func recipeFileDecodesWithDefaults() throws {
        let recipe = try Self.decode("""
            {"name": "mine", "weight": {"dtype": "int4", "granularity": "per_group", "group_size": 64},
             "overrides": [{"pattern": "*.mlp.down_proj", "weight": {"dtype": "int8", "granularity": "per_channel"}}],
             "calibration": {"samples": 8, "seq_len": 64}}
            """)
        #expect(recipe.weight?.groupSize == 64)
        #expect(recipe.weight?.isSymmetric == true)
        #expect(recipe.weight?.rounding == .halfToEven)
        #expect(recipe.overrides.first?.weight?.dataType == .int8)
        #expect(recipe.calibration.seed == 0)
        #expect(recipe.exclude == ["lm_head"])
    }

    /// Each impossible recipe is rejected with the field and what is allowed.
    @Test(arguments: [
        (#"{"weight": {"dtype": "int5"}}"#, "weight.dtype", "unknown data type 'int5'"),
        (#"{"weight": {"dtype": "int4", "granularity": "per_group", "group_size": 0}}"#, "weight.group_size", "must be > 0, got 0"),
        (#"{"weight": {"dtype": "fp8_e4m3", "symmetric": false}}"#, "weight.symmetric", "asymmetric quantization needs an integer format"),
        (#"{"weight": {"dtype": "mxfp4_e2m1", "group_size": 16}}"#, "weight.group_size", "OCP MX blocks hold 32 elements"),
        (#"{"weight": {"dtype": "int8", "granularity": "per_lane"}}"#, "weight.granularity", "unknown value 'per_lane'"),
        (#"{"weight": {"dtype": "int8", "observer": "median"}}"#, "weight.observer", "unknown method 'median'"),
        (#"{"weight": {"dtype": "int8", "observer": "percentile"}}"#, "weight.observer", "weights allow minmax or mse"),
        (#"{"weight": {"dtype": "fp8_e4m3", "observer": "mse"}}"#, "weight.observer", "mse searches an integer grid"),
        (#"{"weight": {"dtype": "int8"}, "overrides": [{"pattern": "*.down_proj", "weight": {"dtype": "int4", "observer": "histogram"}}]}"#,
         "overrides[*.down_proj].weight.observer", "got histogram"),
        (#"{"weight": {"dtype": "int8"}, "algorithms": ["magic"]}"#, "algorithms", "'magic' is not available"),
        (#"{"weight": {"dtype": "int8"}, "algorithms": ["gptq", "awq"]}"#, "algorithms", "gptq rounds the weights and must come last"),
        (#"{"weight": {"dtype": "int8"}, "algorithms": ["awq", "rotation"]}"#, "algorithms", "must come first"),
        (#"{"weight": {"dtype": "int8"}, "algorithms": ["awq", "AWQ"]}"#, "algorithms", "'awq' is listed more than once"),
        (#"{"weight": {"dtype": "fp8_e4m3"}, "algorithms": ["gptq"]}"#, "algorithms", "gptq needs integer weights"),
        (#"{"input": {"dtype": "int8"}, "algorithms": ["gptq"]}"#, "algorithms", "gptq needs quantized weights"),
        (#"{"weight": {"dtype": "int8"}, "algorithms": [{"alpha": 0.5}]}"#, "algorithms", "needs a \"name\""),
        (#"{"weight": {"dtype": "int8"}, "calibration": {"samples": 0}}"#, "calibration.samples", "must be >= 1"),
        (#"{"wieght": {"dtype": "int8"}}"#, "wieght", "unknown recipe field"),
        (#"{"name": "nothing"}"#, "recipe", "quantizes nothing"),
    ])
    func impossibleRecipesNameTheField(json: String, field: String, reason: String) throws {
        do {
            _ = try Self.decode(json)
            Issue.record("accepted \(json)")
        } catch let QuantError.invalidConfiguration(actualField, actualReason) {
            #expect(actualField == field)
            #expect(actualReason.contains(reason), "\(actualReason)")
        }
    }

    @Test func globsMatchModuleNames() {
        #expect(LayerPattern.matches("*.mlp.down_proj", "model.layers.3.mlp.down_proj"))
        #expect(!LayerPattern.matches("*.mlp.down_proj", "model.layers.3.mlp.up_proj"))
        #expect(LayerPattern.matches("model.layers.?.self_attn.*", "model.layers.7.self_attn.q_proj"))
        #expect(!LayerPattern.matches("model.layers.?.self_attn.*", "model.layers.17.self_attn.q_proj"))
        #expect(LayerPattern.matches("lm_head", "lm_head"))
    }

    @Test func algorithmsAreNamesOrObjectsWithSettings() throws {
        let recipe = try Self.decode(#"""
            {"weight": {"dtype": "uint4", "granularity": "per_group", "group_size": 64, "symmetric": false},
             "algorithms": ["Rotation", {"name": "smooth_quant", "alpha": 0.6, "search_alpha": true}, "gptq"]}
            """#)
        #expect(recipe.algorithms.map(\.name) == ["rotation", "smoothquant", "gptq"])
        #expect(recipe.algorithms[1] == .smoothQuant(try SmoothQuant.Configuration(alpha: 0.6, searchesAlpha: true)))
        #expect(recipe.algorithms[2] == .gptq(GPTQ.Configuration.recommended))
        let again = try JSONDecoder().decode(QuantRecipe.self, from: try JSONEncoder().encode(recipe))
        #expect(again == recipe)
    }
}
