import Analysis
import Foundation
import ModelFormats
import Quantization

/// `quanta tune` as a library call: run the search, then write the output folder: `model/` (the tuned model),
/// `recipe.yaml` (which `quanta quantize --recipe` turns into the same model), `tune-log.json`, `tune-cache.json`
/// (reused by the next run into the same folder) and `report/` (the debugger's report of the tuned model, with the
/// chart of every candidate's accuracy against its bits per weight).
public enum TuneCommand {
    /// What the command prints.
    public struct Report: Codable, Sendable {
        public var budget: String
        public var meetsBudget: Bool
        public var best: String
        public var metric: String
        public var perplexity: Double?
        public var floatPerplexity: Double?
        public var klDivergence: Double?
        public var top1Agreement: Double?
        public var accuracy: Double?
        public var floatAccuracy: Double?
        public var bitsPerWeight: Double
        public var floatLayers: [String]
        public var raisedLayers: [String]
        public var steps: [RecipeTuner.Step]
        public var seconds: Double

        enum CodingKeys: String, CodingKey {
            case budget, best, metric, perplexity, steps, seconds, accuracy
            case floatAccuracy = "float_accuracy"
            case meetsBudget = "meets_budget"
            case floatPerplexity = "float_perplexity"
            case klDivergence = "kl_divergence"
            case top1Agreement = "top1_agreement"
            case bitsPerWeight = "bits_per_weight"
            case floatLayers = "float_layers"
            case raisedLayers = "raised_layers"
        }
    }

    /// Tunes `recipe` for `loaded` on `evaluationText` (or, for a task-accuracy budget, on the configuration's task
    /// items; the text may then be empty) and writes `directory` (which may hold an earlier run's output:
    /// its cache is reused and its files replaced, each under a temporary name first).
    public static func run(
        _ loaded: LoadedModel, recipe: QuantRecipe, evaluationText: String, configuration: RecipeTuner.Configuration,
        directory: String, progress: RecipeTuner.Progress = .init()
    ) throws -> Report {
        let start = Date()
        let tokens = try loaded.requireTokenizer().encode(evaluationText)
        var cache = TuneCache.load(from: directory, warn: progress.message)
        let outcome: RecipeTuner.Outcome
        do {
            outcome = try RecipeTuner.run(
                loaded, recipe: recipe, evaluationTokens: tokens, configuration: configuration, cache: &cache,
                progress: progress)
        } catch {
            try? cache.save(to: directory)
            throw error
        }
        try cache.save(to: directory)
        let budget = configuration.budget
        let report = Report(
            budget: budget.text, meetsBudget: outcome.meetsBudget, best: outcome.bestChange,
            metric: budget.format(budget.value(of: outcome.metrics)), perplexity: outcome.metrics.perplexity,
            floatPerplexity: outcome.metrics.floatPerplexity, klDivergence: outcome.metrics.klDivergence,
            top1Agreement: outcome.metrics.top1Agreement, accuracy: outcome.metrics.accuracy,
            floatAccuracy: outcome.metrics.floatAccuracy, bitsPerWeight: outcome.bitsPerWeight,
            floatLayers: outcome.floatLayers, raisedLayers: outcome.raisedLayers, steps: outcome.log,
            seconds: Date().timeIntervalSince(start))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        try AtomicFile.write(try encoder.encode(report), to: directory + "/tune-log.json")
        guard let recipe = outcome.recipe, let quantized = outcome.quantized else { return report }
        try QuantizedModelFolder.save(quantized, to: directory + "/model", overwrite: true)
        try AtomicFile.write(Data(try RecipeLoader.yaml(recipe).utf8), to: directory + "/recipe.yaml")
        let chart = searchChart(outcome, budget: budget)
        _ = try DebugCommand.run(
            reference: loaded, quantized: quantized,
            options: .init(
                inputFile: nil, outputDirectory: directory + "/report", overwrite: true,
                configuration: .init(activationHistograms: false, measureSensitivity: false)),
            progress: progress.debugger, sections: [chart])
        try AtomicFile.write(Data(searchSVG(outcome, budget: budget).utf8), to: directory + "/report/plots/tuning.svg")
        return report
    }

    /// Every candidate's metric against its bits per weight, the Pareto front and the chosen point.
    static func searchSVG(_ outcome: RecipeTuner.Outcome, budget: TuneBudget) -> String {
        let points = outcome.log.map { step in
            SVGChart.Point(
                x: step.bitsPerWeight, y: budget.value(of: step.metrics),
                label: "\(step.step). \(step.change) [\(step.phase)]: \(budget.format(step.metric)), \(String(format: "%.3f", step.bitsPerWeight)) bits")
        }
        let chosen = outcome.meetsBudget
            ? SVGChart.Point(x: outcome.bitsPerWeight, y: budget.value(of: outcome.metrics), label: outcome.bestChange) : nil
        return SVGChart.scatter(
            id: "chart-tuning", title: "tuning: \(budget.text) against bits per weight (every candidate; blue: Pareto front; red ring: chosen)",
            xLabel: "bits per weight (quantized layers; float layers at 16)", yLabel: "metric",
            points: points, chosen: chosen, limit: budget.limit)
    }

    static func searchChart(_ outcome: RecipeTuner.Outcome, budget: TuneBudget) -> String {
        let verdict = outcome.meetsBudget ? "meets" : "misses"
        return "<h2>Tuning search</h2>\n<p id=\"tuning-summary\">Budget \(SVGChart.escape(budget.text)): the chosen candidate (\(SVGChart.escape(outcome.bestChange))) \(verdict) it at \(SVGChart.escape(budget.format(budget.value(of: outcome.metrics)))) with \(String(format: "%.3f", outcome.bitsPerWeight)) bits per weight; \(outcome.floatLayers.count) layers in float, \(outcome.raisedLayers.count) raised; \(outcome.log.count) steps.</p>\n"
            + searchSVG(outcome, budget: budget)
    }
}
