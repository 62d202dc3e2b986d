import ArgumentParser
import Foundation
import Pipeline
import Quantization

extension LayerRollback.Ranking: ExpressibleByArgument {}

/// Per-layer choices every command that takes a recipe accepts: manual rollback (`--keep-float`) and another scheme
/// for some layers (`--override`).
struct LayerChoiceOptions: ParsableArguments {
    @Option(name: .customLong("keep-float"), help: ArgumentHelp(
        "Keep the linears matching GLOB (exact name or glob, e.g. '*.mlp.down_proj') in float; repeatable.",
        valueName: "glob"))
    var keepFloat: [String] = []
    @Option(name: .customLong("override"), help: ArgumentHelp(
        "Give the linears matching GLOB another recipe's schemes, e.g. '*.mlp.down_proj=w8a16'; repeatable.",
        valueName: "glob=preset-or-file"))
    var overrides: [String] = []

    func validate() throws {
        for entry in overrides { _ = try Self.split(entry) }
        for pattern in keepFloat where pattern.isEmpty { throw ValidationError("--keep-float needs a layer name or glob") }
    }

    /// `GLOB=PRESET_OR_FILE` split at the first `=` (globs have none).
    static func split(_ entry: String) throws -> (pattern: String, recipe: String) {
        guard let equals = entry.firstIndex(of: "="), equals != entry.startIndex, entry.index(after: equals) != entry.endIndex
        else { throw ValidationError("--override takes GLOB=PRESET_OR_FILE (e.g. '*.mlp.down_proj=w8a16'), got '\(entry)'") }
        return (String(entry[..<equals]), String(entry[entry.index(after: equals)...]))
    }

    /// The recipe with `--keep-float` and `--override` appended to its overrides (after the recipe's own, so they win).
    func apply(to recipe: inout QuantRecipe) throws {
        for entry in overrides {
            let (pattern, name) = try Self.split(entry)
            do {
                try recipe.override(pattern, with: try RecipeLoader.load(name))
            } catch {
                throw PipelineError.invalidArgument("--override '\(entry)': \(error)")
            }
        }
        for pattern in keepFloat { recipe.keepFloat(pattern) }
    }

    /// Names the first `--keep-float` or `--override` pattern that matches no linear of the model.
    func checkPatterns(_ loaded: LoadedModel) throws {
        let names = loaded.model.linearLayers.map(\.name)
        let example = names.first { $0.contains(".layers.") } ?? names.first ?? ""
        for pattern in QuantRecipe.unmatched(keepFloat, in: names) {
            throw PipelineError.invalidArgument("--keep-float '\(pattern)' matches no linear layer (layers look like '\(example)')")
        }
        for pattern in QuantRecipe.unmatched(try overrides.map { try Self.split($0).pattern }, in: names) {
            throw PipelineError.invalidArgument("--override '\(pattern)=…' matches no linear layer (layers look like '\(example)')")
        }
    }
}

/// Rollback by count on `quantize` and `analyze`: `--rollback N --rank range|measured`.
struct RollbackOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Keep the N most sensitive quantized linears in float (ranked by --rank).")
    var rollback: Int?
    @Option(help: "Ranking for --rollback: range (the debugger's range_parm; no extra passes) or measured (KL with one layer quantized; one pass per layer).")
    var rank: LayerRollback.Ranking?

    func validate() throws {
        if let rollback, rollback < 1 { throw ValidationError("--rollback must be >= 1, got \(rollback)") }
        if rank != nil, rollback == nil { throw ValidationError("--rank orders the layers of --rollback N; give --rollback") }
    }

    /// With `--rollback N`: quantizes once by `recipe`, ranks its layers, prints the N kept in float with their scores
    /// on standard error, and returns the recipe that keeps them in float. Without it, `recipe` unchanged. `cache` keeps
    /// the calibration windows for the run that follows.
    func rollingBack(_ recipe: QuantRecipe, loaded: LoadedModel, cache: CalibrationCache) throws -> QuantRecipe {
        guard let rollback else { return recipe }
        let ranking = rank ?? .range
        let quantizable = try QuantizationPlan(recipe: recipe, model: loaded.model).layers.filter { $0.weight != nil || $0.input != nil }
        guard rollback <= quantizable.count else {
            throw PipelineError.invalidArgument("--rollback \(rollback): cannot roll back more layers than the recipe quantizes (\(quantizable.count))")
        }
        let first = try ModelQuantization.run(loaded, recipe: recipe, keepsReference: true, cache: cache, progress: quantizationProgress(recipe))
        let ranked = try LayerRollback.rank(reference: loaded, quantized: first, by: ranking, progress: debuggerProgress(first))
        let result = try LayerRollback.recipe(recipe, keepingFloat: rollback, of: ranked)
        let label = ranking == .measured ? "measured KL" : "range"
        for (index, layer) in ranked.prefix(rollback).enumerated() {
            ProgressBar.log(String(format: "rollback %d/%d: %@ (%@ %.4g)", index + 1, rollback, layer.name, label, layer.score))
        }
        return result
    }
}
