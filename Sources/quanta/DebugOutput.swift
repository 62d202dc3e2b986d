import Analysis
import Foundation
import Pipeline
import QuantCore
import TensorCore
import Quantization

/// Progress bars for the quantization phases (plain lines when standard error is not a terminal).
func quantizationProgress(_ recipe: QuantRecipe) -> ModelQuantization.Progress {
    var progress = ModelQuantization.Progress()
    let weightsBar = ProgressBar("weights    ", total: 1)
    progress.weights = { done, total in if done == total { weightsBar.update(1) } }
    // Generated calibration text reports decode steps (all samples decode together).
    let dataBar = ProgressBar(
        "calib text ", total: max(1, min(recipe.calibration.sequenceLength, CalibrationData.generatedSequenceLimit) - 1))
    progress.calibrationData = { done, _ in dataBar.update(done) }
    // The window count is known once the text is cut (self-generated text holds fewer samples than the recipe asks).
    var calibrationBar: ProgressBar?
    progress.calibration = { done, total in
        if calibrationBar == nil { calibrationBar = ProgressBar("calibration", total: max(total, 1)) }
        calibrationBar?.update(done)
    }
    // The block count is known only once the model is loaded: the bar is made at the first report.
    var blocksBar: ProgressBar?
    progress.blocks = { done, total in
        if blocksBar == nil { blocksBar = ProgressBar("blocks     ", total: total) }
        blocksBar?.update(done)
    }
    progress.log = { line in ProgressBar.log(line) }
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
            let output: String, report: String, output_kl: Double, output_top1_agreement: Double, analysis_seconds: Double
            let sensitivity_seconds: Double?, sensitivity_spearman: Double?, quantization_seconds: Double?,
                top_layers: [String]
            let peak_memory_mb: Double
        }
        try printJSON(
            Summary(
                output: out, report: out + "/index.html", output_kl: report.outputKL,
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
