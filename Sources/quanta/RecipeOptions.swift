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

/// Checks the calibration flags `quantize` and `analyze` share, naming the flag the user typed (the recipe's own
/// check would name `calibration.samples`).
/// - Throws: `ValidationError` for fewer than 1 sample or fewer than 2 tokens per sample.
func validateCalibrationFlags(samples: Int?, sequenceLength: Int?) throws {
    if let samples, samples < 1 { throw ValidationError("--samples must be >= 1, got \(samples)") }
    if let sequenceLength, sequenceLength < 2 { throw ValidationError("--seq-len must be >= 2, got \(sequenceLength)") }
}
