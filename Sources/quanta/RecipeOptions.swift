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
