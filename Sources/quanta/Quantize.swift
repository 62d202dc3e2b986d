import ArgumentParser
import Foundation
import ModelFormats
import Pipeline
import QuantAlgorithms
import QuantCore
import Quantization

/// `quanta quantize`: apply a recipe, calibrate, and save the quantized model.
struct Quantize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Quantize a model by a recipe (preset name or JSON/YAML file) and save it as safetensors + JSON.")

    @Argument(help: "Model: a GGUF file or a Hugging Face folder.") var model: String
    @OptionGroup var recipeOptions: RecipeOptions
    @Option(name: .customLong("algorithm"),
            help: "Add an algorithm to the recipe (gptq, awq, smoothquant, rotation); repeatable, applied in the order given.")
    var algorithms: [String] = []
    @OptionGroup(title: "Per-layer choices") var layerChoices: LayerChoiceOptions
    @OptionGroup(title: "Rollback by count") var rollbackOptions: RollbackOptions
    @Option(help: "Output folder (with --format: the exported file, or folder for hf).") var out: String
    @Option(help: "Export instead of saving Quanta's folder: gguf, hf or onnx, exactly as `quanta export` of the saved folder would (default export settings).")
    var format: String?
    @Option(help: "Also write the quantization debugger's report to this folder (as `quanta analyze --out`; or set QUANTA_DEBUG=DIR).")
    var debug: String?
    @Option(name: .customLong("debug-input"), help: "With --debug: text whose first 512 tokens are analysed (default: the first calibration batch; or QUANTA_DEBUG_INPUT).")
    var debugInput: String?
    @Flag(name: .customLong("debug-activation-histograms"), help: "With --debug: add the activation histograms (or QUANTA_DEBUG_ACT_HIST=1).")
    var debugActivationHistograms = false
    @Flag(name: .customLong("debug-no-sensitivity"), help: "With --debug: skip the measured sensitivity (or QUANTA_DEBUG_SENSITIVITY=0).")
    var debugNoSensitivity = false
    @Flag(help: "Replace the output folder(s) if they exist.") var overwrite = false
    @Flag(name: .customLong("allow-requantize"), help: "Quantize weights that are already quantized (a GGUF Q4_1, a saved folder) without the warning.")
    var allowRequantize = false
    @Flag(help: "Print the summary as JSON.") var json = false

    func validate() throws {
        if let format, !["gguf", "hf", "onnx"].contains(format.lowercased()) {
            throw ValidationError("--format '\(format)' is not supported; choose gguf, hf or onnx (or leave it out to save Quanta's folder)")
        }
        if format != nil, debug != nil { throw ValidationError("--debug cannot be combined with --format; run `quanta analyze` for the report") }
        if debug == nil, debugInput != nil || debugActivationHistograms || debugNoSensitivity,
           ProcessInfo.processInfo.environment["QUANTA_DEBUG"]?.isEmpty ?? true {
            throw ValidationError("--debug-input, --debug-activation-histograms and --debug-no-sensitivity need --debug DIR")
        }
    }

    func run() throws {
        try reportingErrors {
            var recipe = try recipeOptions.load()
            recipe.algorithms += try algorithms.map { try AlgorithmStep.named($0) }
            try layerChoices.apply(to: &recipe)
            try recipe.validate()
            if FileManager.default.fileExists(atPath: out) && !overwrite {
                throw PipelineError.invalidArgument("\(out) already exists; remove it or pass --overwrite")
            }
            let environment = ProcessInfo.processInfo.environment
            // Flags first; the QUANTA_DEBUG* variables turn the same settings on from outside a script.
            let debugOptions = (debug ?? environment["QUANTA_DEBUG"].flatMap { $0.isEmpty ? nil : $0 }).map { directory in
                DebugCommand.Options(
                    inputFile: debugInput ?? environment["QUANTA_DEBUG_INPUT"].flatMap { $0.isEmpty ? nil : $0 },
                    outputDirectory: directory, overwrite: overwrite,
                    configuration: .init(
                        activationHistograms: debugActivationHistograms || environment["QUANTA_DEBUG_ACT_HIST"] == "1",
                        measureSensitivity: !debugNoSensitivity && environment["QUANTA_DEBUG_SENSITIVITY"] != "0"))
            }
            try debugOptions?.validate()
            let loaded = try ModelLoader.load(model)
            if !allowRequantize { warnIfRequantizing(loaded) }
            try layerChoices.checkPatterns(loaded)
            let cache = CalibrationCache()
            recipe = try rollbackOptions.rollingBack(recipe, loaded: loaded, cache: cache)
            let quantized = try ModelQuantization.run(
                loaded, recipe: recipe, keepsReference: debugOptions != nil, cache: cache, progress: quantizationProgress(recipe))
            if let format {
                // Quantize-then-export in one go: the folder `quanta quantize` would write, under a temporary name
                // beside the output (one a later run removes if this one is killed), exported by `quanta export` and
                // removed.
                // The folder takes the output's stem as its name, which the exported metadata carries (general.name).
                let scratch = TemporaryOutput.path(for: out)
                defer { try? FileManager.default.removeItem(atPath: scratch) }
                try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: false)
                let folder = scratch + "/" + URL(fileURLWithPath: out).deletingPathExtension().lastPathComponent
                try QuantizedModelFolder.save(quantized, to: folder, overwrite: true)
                let export = try ExportCommand.parse(
                    [folder, "--format", format, "--out", out] + (overwrite ? ["--overwrite"] : []) + (json ? ["--json"] : []))
                try export.validate()
                try export.run()
                return
            }
            try QuantizedModelFolder.save(quantized, to: out, overwrite: overwrite)
            if let debugOptions {
                let report = try DebugCommand.run(reference: loaded, quantized: quantized, options: debugOptions, progress: debuggerProgress(quantized))
                if !json { try printDebugSummary(report, out: debugOptions.outputDirectory, json: false, quantizationSeconds: nil) }
            }
            let s = quantized.summary
            if json {
                var paths = ["output": out]
                if let debugOptions { paths["debug_report"] = debugOptions.outputDirectory + "/index.html" }
                try printJSON(s, paths: paths)
            } else {
                print("recipe:       \(s.recipe)")
                print("quantized:    \(s.quantizedLayers) linear layers; excluded: \(s.excludedLayers.isEmpty ? "none" : s.excludedLayers.joined(separator: ", "))")
                print(String(format: "bits/weight:  %.3f (quantized layers), %.3f (all linear weights)", s.bitsPerWeight, s.bitsPerWeightAllLinears))
                if s.calibrationSamples > 0 {
                    print(String(format: "calibration:  %d samples, %d tokens, %.1f s", s.calibrationSamples, s.calibrationTokens, s.calibrationSeconds))
                }
                if !s.algorithms.isEmpty {
                    print(String(format: "algorithms:   %@ (%.1f s)", s.algorithms.joined(separator: " → "), s.algorithmSeconds))
                }
                print(String(format: "weights:      %.1f s", s.quantizationSeconds))
                print("saved:        \(out)")
            }
        }
    }
}
