import Analysis
import ArgumentParser
import Foundation
import Pipeline
import QuantCore
import Quantization

/// `quanta analyze`: quantize by a recipe in memory and write the debugger's report (no model is saved).
struct Analyze: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Explain a recipe's damage layer by layer: per-layer errors, histograms, sensitivity, one HTML report.")

    @Argument(help: "Model: a GGUF file or a Hugging Face folder.") var model: String
    @OptionGroup var recipeOptions: RecipeOptions
    @Option(help: "Text whose first --tokens tokens are analysed (default: the first calibration batch).") var input:
        String?
    @Option(parsing: .unconditional, help: "Tokens of --input to analyse.") var tokens = 512
    @OptionGroup(title: "Per-layer choices") var layerChoices: LayerChoiceOptions
    @OptionGroup(title: "Rollback by count") var rollbackOptions: RollbackOptions
    @Option(help: "Output folder for index.html, summary.json, per-layer statistics and plots.") var out: String
    @Flag(help: "Replace the output folder if it exists.") var overwrite = false
    @Flag(name: .customLong("allow-requantize"), help: "Quantize weights that are already quantized (a GGUF Q4_1, a saved folder) without the warning.")
    var allowRequantize = false
    @Flag(name: .customLong("no-sensitivity"), help: "Skip the measured sensitivity (one forward pass per layer).")
    var noSensitivity = false
    @Flag(name: .customLong("no-activation-histograms"), help: "Skip the activation histograms.")
    var noActivationHistograms = false
    @Flag(help: "Print summary.json's top-level numbers as JSON.") var json = false

    func validate() throws {
        guard tokens >= 2 else { throw ValidationError("--tokens must be >= 2, got \(tokens)") }
    }

    func run() throws {
        try reportingErrors {
            var recipe = try recipeOptions.load()
            try layerChoices.apply(to: &recipe)
            try recipe.validate()
            let options = DebugCommand.Options(
                inputFile: input, tokenCount: tokens, outputDirectory: out, overwrite: overwrite,
                configuration: .init(activationHistograms: !noActivationHistograms, measureSensitivity: !noSensitivity))
            try options.validate()
            let loaded = try ModelLoader.load(model)
            if !allowRequantize { warnIfRequantizing(loaded) }
            try layerChoices.checkPatterns(loaded)
            let cache = CalibrationCache()
            recipe = try rollbackOptions.rollingBack(recipe, loaded: loaded, cache: cache)
            let start = Date()
            let quantized = try ModelQuantization.run(loaded, recipe: recipe, keepsReference: true, cache: cache, progress: quantizationProgress(recipe))
            let quantizationSeconds = Date().timeIntervalSince(start)
            let report = try DebugCommand.run(
                reference: loaded, quantized: quantized, options: options, progress: debuggerProgress(quantized))
            try printDebugSummary(report, out: out, json: json, quantizationSeconds: quantizationSeconds)
        }
    }
}
