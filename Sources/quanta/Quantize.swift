import ArgumentParser
import Foundation
import Pipeline
import QuantCore

/// `quanta quantize`: apply a recipe, calibrate, and save the quantized model.
struct Quantize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Quantize a model by a recipe (preset name or JSON/YAML file) and save it as safetensors + JSON.")

    @Argument(help: "Model: a GGUF file or a Hugging Face folder.") var model: String
    @Option(help: "Preset name (see `quanta recipes`) or a .json/.yaml recipe file.") var recipe: String
    @Option(help: "Calibration text (UTF-8). Without it, calibration text is sampled from the model (seeded).") var calib: String?
    @Option(help: "Calibration samples (overrides the recipe).") var samples: Int?
    @Option(name: .customLong("seq-len"), help: "Tokens per calibration sample (overrides the recipe).") var sequenceLength: Int?
    @Option(help: "Calibration seed (overrides the recipe).") var seed: UInt64?
    @Option(name: .customLong("algorithm"),
            help: "Add an algorithm to the recipe (gptq, awq, smoothquant, rotation); repeatable, applied in the order given.")
    var algorithms: [String] = []
    @Option(help: "Output folder.") var out: String
    @Flag(help: "Replace the output folder if it exists.") var overwrite = false
    @Flag(help: "Print the summary as JSON.") var json = false

    func run() throws {
        try reportingErrors {
            var recipe = try RecipeLoader.load(self.recipe)
            if let calib { recipe.calibration.file = calib }
            if let samples { recipe.calibration.samples = samples }
            if let sequenceLength { recipe.calibration.sequenceLength = sequenceLength }
            if let seed { recipe.calibration.seed = seed }
            recipe.algorithms += algorithms.map { QuantRecipe.AlgorithmStep(name: $0) }
            try recipe.validate()
            if FileManager.default.fileExists(atPath: out) && !overwrite {
                throw PipelineError.invalidArgument("\(out) already exists; remove it or pass --overwrite")
            }
            let loaded = try ModelLoader.load(model)
            var progress = ModelQuantization.Progress()
            let weightsBar = ProgressBar("weights    ", total: 1)
            progress.weights = { done, total in if done == total { weightsBar.update(1) } }
            let dataBar = ProgressBar("calib text ", total: max(1, min(recipe.calibration.samples, CalibrationData.generatedSampleLimit)))
            progress.calibrationData = { done, _ in dataBar.update(done) }
            let calibrationBar = ProgressBar("calibration", total: recipe.calibration.samples)
            progress.calibration = { done, _ in calibrationBar.update(done) }
            let blocksBar = ProgressBar("blocks     ", total: loaded.model.blocks.count)
            progress.blocks = { done, _ in blocksBar.update(done) }
            progress.log = { line in FileHandle.standardError.write(Data("\r\u{1B}[K\(line)\n".utf8)) }
            let quantized = try ModelQuantization.run(loaded, recipe: recipe, progress: progress)
            try QuantizedModelFolder.save(quantized, to: out, overwrite: overwrite)
            let s = quantized.summary
            if json {
                try printJSON(s)
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
