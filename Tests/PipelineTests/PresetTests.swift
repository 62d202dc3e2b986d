import Foundation
import Pipeline
import QuantAlgorithms
import QuantCore
import Quantization
import Testing

/// Every listed preset builds, prints as YAML that reads back to the same recipe, and the algorithm presets carry each
/// algorithm's `--algorithm` defaults.
@Suite struct PresetTests {
    /// Reads `yaml` as a recipe file would be read.
    static func load(_ yaml: String) throws -> QuantRecipe {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("preset-\(UUID().uuidString).yaml").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return try RecipeLoader.load(path)
    }

    @Test func everyPresetRoundTripsThroughItsYAML() throws {
        let names = QuantRecipe.presetDescriptions.map(\.name)
        #expect(Set(names).count == names.count, "a preset listed twice")
        for name in names {
            let recipe = try QuantRecipe.preset(name)
            #expect(recipe.name == name)
            let yaml = try RecipeLoader.yaml(recipe)
            let again = try Self.load(yaml)
            #expect(again == recipe, "\(name): \(yaml)")
        }
    }

    @Test func algorithmPresetsAreTheirBasePlusTheRecommendedSteps() throws {
        let gptq = try QuantRecipe.preset("w4a16-g64-gptq")
        let base = try QuantRecipe.preset("w4a16-g64")
        #expect(gptq.weight == base.weight && gptq.input == base.input)
        #expect(gptq.algorithms == [.gptq(GPTQ.Configuration.recommended)])
        #expect(GPTQ.Configuration.recommended.actOrder && GPTQ.Configuration.recommended.searchesRange)
        #expect(try AlgorithmStep.named("gptq") == .gptq(GPTQ.Configuration.recommended))
        let w4a8 = try QuantRecipe.preset("w4a8-g128-rotation-gptq")
        #expect(w4a8.algorithms.map(\.name) == ["rotation", "gptq"])
        #expect(w4a8.input?.isDynamic == true && w4a8.weight?.groupSize == 128)
        #expect(try QuantRecipe.preset("w8a8-int8-static-rotation").algorithms.map(\.name) == ["rotation"])
    }

    @Test func aRecipeNamingGPTQWithoutSettingsGetsTheRecommendedOnes() throws {
        let yaml = "weight: {dtype: uint4, granularity: per_group, group_size: 32, symmetric: false}\nalgorithms: [gptq]\n"
        let recipe = try Self.load(yaml)
        #expect(recipe.algorithms == [.gptq(GPTQ.Configuration.recommended)])
        let paper = try Self.load(
            yaml.replacingOccurrences(of: "[gptq]", with: "[{name: gptq, act_order: false, mse: false}]"))
        #expect(paper.algorithms == [.gptq(try GPTQ.Configuration())])
    }
}
