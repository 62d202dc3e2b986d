import Foundation
import Pipeline
import Quantization

/// recipe seeds: every preset as YAML (first byte 0) and as JSON (first byte 1), the forms `RecipeLoader` reads.
enum RecipeSeeds {
    static func write(_ seeds: SeedWriter) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        for (name, _) in QuantRecipe.presetDescriptions {
            let recipe = try QuantRecipe.preset(name)
            try seeds.write("recipe", "\(name).yaml.bin", [0] + Array(try RecipeLoader.yaml(recipe).utf8))
            try seeds.write("recipe", "\(name).json.bin", [1] + [UInt8](try encoder.encode(recipe)))
        }
    }
}
