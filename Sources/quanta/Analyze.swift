import Analysis
import ArgumentParser
import Foundation
import Pipeline
import QuantCore

/// `quanta analyze`: quantize by a recipe in memory and write the debugger's report (no model is saved).
struct Analyze: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Explain a recipe's damage layer by layer: per-layer errors, histograms, sensitivity, one HTML report.")

    @Argument(help: "Model: a GGUF file or a Hugging Face folder.") var model: String
    @Option(help: "Preset name (see `quanta recipes`) or a .json/.yaml recipe file.") var recipe: String
    @Option(help: "Text whose first --tokens tokens are analysed (default: the first calibration batch).") var input:
        String?
    @Option(help: "Tokens of --input to analyse.") var tokens = 512
    @Option(help: "Calibration text (UTF-8); without it, calibration text is sampled from the model.") var calib:
        String?
    @Option(help: "Calibration samples (overrides the recipe).") var samples: Int?
    @Option(name: .customLong("seq-len"), help: "Tokens per calibration sample (overrides the recipe).")
    var sequenceLength: Int?
    @Option(help: "Calibration seed (overrides the recipe).") var seed: UInt64?
    @Option(help: "Output folder for index.html, summary.json, per-layer statistics and plots.") var out: String
    @Flag(help: "Replace the output folder if it exists.") var overwrite = false
    @Flag(name: .customLong("no-sensitivity"), help: "Skip the measured sensitivity (one forward pass per layer).")
    var noSensitivity = false
    @Flag(name: .customLong("no-activation-histograms"), help: "Skip the activation histograms.")
    var noActivationHistograms = false
    @Flag(help: "Print summary.json's top-level numbers as JSON.") var json = false

    func run() throws {
        try reportingErrors {
            var recipe = try RecipeLoader.load(self.recipe)
            if let calib { recipe.calibration.file = calib }
            if let samples { recipe.calibration.samples = samples }
            if let sequenceLength { recipe.calibration.sequenceLength = sequenceLength }
            if let seed { recipe.calibration.seed = seed }
            try recipe.validate()
            let options = DebugCommand.Options(
                inputFile: input, tokenCount: tokens, outputDirectory: out, overwrite: overwrite,
                configuration: .init(activationHistograms: !noActivationHistograms, measureSensitivity: !noSensitivity))
            try options.validate()
            let loaded = try ModelLoader.load(model)
            let start = Date()
            let quantized = try ModelQuantization.run(loaded, recipe: recipe, progress: quantizationProgress(recipe))
            let quantizationSeconds = Date().timeIntervalSince(start)
            let report = try DebugCommand.run(
                reference: loaded, quantized: quantized, options: options, progress: debuggerProgress(quantized))
            try printDebugSummary(report, out: out, json: json, quantizationSeconds: quantizationSeconds)
        }
    }
}

/// Progress bars for the quantization phases.
func quantizationProgress(_ recipe: QuantRecipe) -> ModelQuantization.Progress {
    var progress = ModelQuantization.Progress()
    let weightsBar = ProgressBar("weights    ", total: 1)
    progress.weights = { done, total in if done == total { weightsBar.update(1) } }
    let dataBar = ProgressBar(
        "calib text ", total: max(1, min(recipe.calibration.samples, CalibrationData.generatedSampleLimit)))
    progress.calibrationData = { done, _ in dataBar.update(done) }
    let calibrationBar = ProgressBar("calibration", total: recipe.calibration.samples)
    progress.calibration = { done, _ in calibrationBar.update(done) }
    return progress
}

/// Progress bars for the debugger's phases.
func debuggerProgress(_ quantized: QuantizedModel) -> QuantizationDebugger.Progress {
    var progress = QuantizationDebugger.Progress()
    let layers = quantized.plan.quantizedLayerCount
    let layerBar = ProgressBar("analysis   ", total: max(layers, 1))
    progress.layers = { done, _ in layerBar.update(done) }
    let sensitivityBar = ProgressBar("sensitivity", total: max(layers, 1))
    progress.sensitivity = { done, _ in sensitivityBar.update(done) }
    return progress
}

/// What `analyze` and `quantize --debug` print when the report is written.
func printDebugSummary(_ report: DebugReport, out: String, json: Bool, quantizationSeconds: Double?) throws {
    if json {
        struct Summary: Encodable {
            let report: String, output_kl: Double, output_top1_agreement: Double, analysis_seconds: Double
            let sensitivity_seconds: Double?, sensitivity_spearman: Double?, quantization_seconds: Double?,
                top_layers: [String]
            let peak_memory_mb: Double
        }
        try printJSON(
            Summary(
                report: out + "/index.html", output_kl: report.outputKL,
                output_top1_agreement: report.outputTop1Agreement,
                analysis_seconds: report.analysisSeconds, sensitivity_seconds: report.sensitivitySeconds,
                sensitivity_spearman: report.sensitivityRankCorrelation, quantization_seconds: quantizationSeconds,
                top_layers: report.ranking.prefix(5).map(\.name), peak_memory_mb: ResourceUsage.peakMemoryMB()))
        return
    }
    print(
        "recipe:       \(report.recipe), \(report.layers.count) layers analysed on \(report.inputTokens) tokens (\(report.inputSource))"
    )
    print(
        String(
            format: "output:       KL(float‖quantized) %.4f nats/token, top-1 agreement %.1f%%", report.outputKL,
            report.outputTop1Agreement * 100))
    print(String(format: "analysis:     %.1f s", report.analysisSeconds))
    if let seconds = report.sensitivitySeconds {
        print(
            String(
                format: "sensitivity:  %.1f s; Spearman ρ(cheap, measured) = %@", seconds,
                report.sensitivityRankCorrelation.map { String(format: "%.3f", $0) } ?? "n/a"))
    }
    print("worst layers:")
    for layer in report.ranking.prefix(5) {
        let kl = layer.measuredKL.map { String(format: "KL %.5f, ", $0) } ?? ""
        print(
            String(
                format: "  %@: %@ref output error %.4f, range_parm %.0f, top channels %@", layer.name, kl,
                layer.referenceOutputError, layer.rangeParameter,
                layer.topChannels.prefix(3).map(String.init).joined(separator: ",")))
    }
    print(String(format: "peak memory:  %.0f MB", ResourceUsage.peakMemoryMB()))
    print("report:       \(out)/index.html")
}
