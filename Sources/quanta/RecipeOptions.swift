import ArgumentParser
import Pipeline
import QuantCore
import Quantization

/// Loads a recipe (preset or file) and applies the command line's calibration overrides, as `quantize` and `analyze`
/// both accept them. A token file replaces the recipe's text (and the text its token file); the recipe's sample count
/// and length then describe the file's windows.
func loadRecipe(
    _ name: String, calib: String?, calibTokens: String? = nil, samples: Int?, sequenceLength: Int?, seed: UInt64?
) throws -> QuantRecipe {
    var recipe = try RecipeLoader.load(name)
    if let calib {
        recipe.calibration.file = calib
        recipe.calibration.tokenFile = nil
    }
    if let calibTokens {
        recipe.calibration.tokenFile = calibTokens
        recipe.calibration.file = nil
    }
    if let tokenFile = recipe.calibration.tokenFile {
        recipe.calibration = recipe.calibration.matchingTokenFile(try CalibrationTokens.read(tokenFile))
    }
    if let samples { recipe.calibration.samples = samples }
    if let sequenceLength { recipe.calibration.sequenceLength = sequenceLength }
    if let seed { recipe.calibration.seed = seed }
    return recipe
}

/// The recipe and its calibration overrides, as `quantize`, `analyze` and `tune` all take them.
struct RecipeOptions: ParsableArguments {
    @Option(help: "Preset name (see `quanta recipes`) or a .json/.yaml recipe file.") var recipe: String
    @Option(help: "Calibration text (UTF-8, or .jsonl with a \"text\" field per line). Without it, text is sampled from the model (seeded).") var calib: String?
    @Option(name: .customLong("calib-tokens"), help: ArgumentHelp(
        "Calibration token windows used as they are: a JSON array of windows ([[id, ...], ...]) or a .npy of shape [N, T] (int32/int64/uint32). Instead of --calib; sets the sample count and length.",
        valueName: "file"))
    var calibTokens: String?
    // Numbers parse unconditionally, so `--samples -3` is judged as -3 instead of a missing value and an option.
    @Option(parsing: .unconditional, help: "Calibration samples (overrides the recipe).") var samples: Int?
    @Option(name: .customLong("seq-len"), parsing: .unconditional, help: "Tokens per calibration sample (overrides the recipe).")
    var sequenceLength: Int?
    @Option(parsing: .unconditional, help: "Calibration seed (overrides the recipe).") var seed: UInt64?

    func validate() throws {
        try validateCalibrationFlags(samples: samples, sequenceLength: sequenceLength)
        if calibTokens != nil {
            if calib != nil { throw ValidationError("--calib and --calib-tokens are exclusive: give calibration text or token windows") }
            let given = [("--samples", samples != nil), ("--seq-len", sequenceLength != nil), ("--seed", seed != nil)]
            if let flag = given.first(where: \.1)?.0 {
                throw ValidationError("\(flag) does not apply to --calib-tokens: its windows are used as they are (count and length)")
            }
        }
    }

    /// The recipe with the calibration flags applied.
    func load() throws -> QuantRecipe {
        try loadRecipe(
            recipe, calib: calib, calibTokens: calibTokens, samples: samples, sequenceLength: sequenceLength, seed: seed)
    }
}

/// Checks the calibration flags `quantize` and `analyze` share, naming the flag the user typed (the recipe's own
/// check would name `calibration.samples`).
/// - Throws: `ValidationError` for fewer than 1 sample or fewer than 2 tokens per sample.
func validateCalibrationFlags(samples: Int?, sequenceLength: Int?) throws {
    if let samples, samples < 1 { throw ValidationError("--samples must be >= 1, got \(samples)") }
    if let sequenceLength, sequenceLength < 2 { throw ValidationError("--seq-len must be >= 2, got \(sequenceLength)") }
}
