import Foundation
import QuantCore
import Quantization
import Yams

/// Finds a recipe by preset name or reads it from a JSON or YAML file.
public enum RecipeLoader {
    /// A preset (`w8a16`), or a `.json`, `.yaml` or `.yml` file.
    /// - Throws: `QuantError.invalidConfiguration` naming the field for an impossible recipe, or the unknown preset.
    public static func load(_ nameOrPath: String) throws -> QuantRecipe {
        let lowered = nameOrPath.lowercased()
        guard [".json", ".yaml", ".yml"].contains(where: { lowered.hasSuffix($0) }) else {
            return try QuantRecipe.preset(nameOrPath)
        }
        guard let data = FileManager.default.contents(atPath: nameOrPath) else {
            throw PipelineError.invalidArgument("cannot read recipe file \(nameOrPath)")
        }
        do {
            if lowered.hasSuffix(".json") { return try JSONDecoder().decode(QuantRecipe.self, from: data) }
            return try YAMLDecoder().decode(QuantRecipe.self, from: data)
        } catch let error as QuantError {
            throw error
        } catch let DecodingError.dataCorrupted(context) where context.underlyingError is QuantError {
            // Yams wraps errors thrown while decoding; surface the recipe's own message.
            throw context.underlyingError!
        } catch {
            throw PipelineError.invalidArgument("\(nameOrPath): \(QuantizationError.describe(error))")
        }
    }
}
