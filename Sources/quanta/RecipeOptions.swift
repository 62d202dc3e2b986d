import ArgumentParser
import Pipeline
import QuantCore
import Quantization

/// Loads a recipe (preset or file) and applies the command line's calibration overrides, as `quantize` and `analyze`
/// both accept them.
func loadRecipe(_ name: String, calib: String?, samples: Int?, sequenceLength: Int?, seed: UInt64?) throws -> QuantRecipe {
    var recipe = try RecipeLoader.load(name)
    if let calib { recipe.calibration.file = calib }
    if let samples { recipe.calibration.samples = samples }
    if let sequenceLength { recipe.calibration.sequenceLength = sequenceLength }
    if let seed { recipe.calibration.seed = seed }
    return recipe
}

/// The recipe and its calibration overrides, as `quantize`, `analyze` and `tune` all take them.
struct RecipeOptions: ParsableArguments {
    @Option(help: "Preset name (see `quanta recipes`) or a .json/.yaml recipe file.") var recipe: String
    @Option(help: "Calibration text (UTF-8, or .jsonl with a \"text\" field per line). Without it, text is sampled from the model (seeded).") var calib: String?
    // Numbers parse unconditionally, so `--samples -3` is judged as -3 instead of a missing value and an option.
    @Option(parsing: .unconditional, help: "Calibration samples (overrides the recipe).") var samples: Int?
    @Option(name: .customLong("seq-len"), parsing: .unconditional, help: "Tokens per calibration sample (overrides the recipe).")
    var sequenceLength: Int?
    @Option(parsing: .unconditional, help: "Calibration seed (overrides the recipe).") var seed: UInt64?

    func validate() throws {
        try validateCalibrationFlags(samples: samples, sequenceLength: sequenceLength)
    }

    /// The recipe with the calibration flags applied.
    func load() throws -> QuantRecipe {
        try loadRecipe(recipe, calib: calib, samples: samples, sequenceLength: sequenceLength, seed: seed)
    }
}

/// Checks the calibration flags `quantize` and `analyze` share, naming the flag the user typed (the recipe's own
/// check would name `calibration.samples`).
/// - Throws: `ValidationError` for fewer than 1 sample or fewer than 2 tokens per sample.
func validateCalibrationFlags(samples: Int?, sequenceLength: Int?) throws {
    if let samples, samples < 1 { throw ValidationError("--samples must be >= 1, got \(samples)") }
    if let sequenceLength, sequenceLength < 2 { throw ValidationError("--seq-len must be >= 2, got \(sequenceLength)") }
}
