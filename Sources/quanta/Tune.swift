import Analysis
import ArgumentParser
import Foundation
import Pipeline
import QuantCore
import Quantization

/// `quanta tune`: the recipe with the fewest bits per weight that meets an accuracy budget against the float model.
struct Tune: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Tune a recipe to an accuracy budget: raise or roll back the most sensitive layers, try whole-model alternatives, keep the fewest bits that meet the budget.",
        discussion: """
            Exit status: 0 when the budget is met, 3 when no candidate meets it (the log names the closest), 1 on errors.
            A second run into the same --out reuses the measured sensitivity and every evaluation already made.
            """)

    /// The exit status of a search that found no candidate meeting the budget.
    static let missedBudgetStatus: Int32 = 3

    @Argument(help: "Model: a GGUF file or a Hugging Face folder (the float model).") var model: String
    @OptionGroup var recipeOptions: RecipeOptions
    @Option(name: .customLong("eval"), help: "Evaluation text (UTF-8) a perplexity or KL budget is measured on.") var evaluationText: String?
    @Option(help: "Multiple-choice task items (JSONL, as `quanta eval --task`) a task-accuracy budget is measured on.") var task: String?
    @Option(name: .customLong("screen-items"), parsing: .unconditional, help: "Task items for screening candidates (the first ones).")
    var screenItems = 50
    @Option(help: "Budget against the float model: ppl<=+1% (perplexity increase), ppl<=+0.3, kl<=0.02, or acc>=-2% (task accuracy drop).")
    var budget: String
    @Option(parsing: .unconditional, help: "Evaluation windows for full evaluations.") var windows = 40
    @Option(name: .customLong("eval-seq-len"), parsing: .unconditional, help: "Tokens per evaluation window.") var evaluationSequenceLength = 512
    @Option(name: .customLong("screen-windows"), parsing: .unconditional, help: "Windows for screening candidates.") var screenWindows = 8
    @Option(name: .customLong("max-evals"), parsing: .unconditional, help: "Full evaluations the search may spend.") var maxEvaluations = 6
    @Option(help: "Layer ranking: measured (single-layer KL, one pass per layer) or range (range_parm, no extra passes).")
    var rank: LayerRollback.Ranking = .measured
    @Option(name: .customLong("try"), help: ArgumentHelp(
        "A whole-model alternative to try: an algorithm (rotation, smoothquant, awq, gptq), observer:NAME or samples:N; repeatable (default: rotation for static-input recipes).",
        valueName: "alternative"))
    var alternatives: [String] = []
    @Flag(name: .customLong("no-alternatives"), help: "Search only per-layer choices on the recipe itself.") var noAlternatives = false
    @OptionGroup(title: "Per-layer choices applied to the recipe before tuning") var layerChoices: LayerChoiceOptions
    @Option(help: "Output folder: model/, recipe.yaml, tune-log.json, tune-cache.json, report/.") var out: String
    @Flag(name: .customLong("allow-requantize"), help: "Quantize weights that are already quantized without the warning.")
    var allowRequantize = false
    @Flag(help: "Print the result as JSON.") var json = false

    func validate() throws {
        let stated: TuneBudget
        do { stated = try TuneBudget(budget) } catch { throw ValidationError("--budget: \(error)") }
        if stated.isTaskAccuracy {
            guard task != nil else { throw ValidationError("--budget \(budget) is on task accuracy: give --task FILE.jsonl") }
            guard evaluationText == nil else { throw ValidationError("--eval is for perplexity and KL budgets; a task-accuracy budget uses --task") }
        } else {
            guard evaluationText != nil else { throw ValidationError("--budget \(budget) is measured on a text: give --eval FILE") }
            guard task == nil else { throw ValidationError("--task is for task-accuracy budgets (acc>=-2%)") }
        }
        guard screenItems >= 1 else { throw ValidationError("--screen-items must be >= 1, got \(screenItems)") }
        guard windows >= 1 else { throw ValidationError("--windows must be >= 1, got \(windows)") }
        guard evaluationSequenceLength >= 2 else { throw ValidationError("--eval-seq-len must be >= 2, got \(evaluationSequenceLength)") }
        guard screenWindows >= 1, screenWindows <= windows else {
            throw ValidationError("--screen-windows must be between 1 and --windows (\(windows)), got \(screenWindows)")
        }
        guard maxEvaluations >= 1 else { throw ValidationError("--max-evals must be >= 1, got \(maxEvaluations)") }
        if noAlternatives && !alternatives.isEmpty { throw ValidationError("--no-alternatives and --try exclude each other") }
        for alternative in alternatives {
            do { _ = try TuneCandidates.Alternative(alternative) } catch { throw ValidationError("--try: \(error)") }
        }
    }

    func run() throws {
        try reportingErrors {
            var recipe = try recipeOptions.load()
            try layerChoices.apply(to: &recipe)
            try recipe.validate()
            let text = try evaluationText.map { try TextFile.read($0) } ?? ""
            let items = try task.map { try MultipleChoiceItem.load(contentsOf: $0) }
            if FileManager.default.fileExists(atPath: out),
               !FileManager.default.fileExists(atPath: out + "/" + TuneCache.fileName) {
                throw PipelineError.invalidArgument("\(out) exists and is not a tuning folder (no \(TuneCache.fileName)); choose another --out")
            }
            let loaded = try ModelLoader.load(model)
            if !allowRequantize { warnIfRequantizing(loaded) }
            try layerChoices.checkPatterns(loaded)
            let stated = try TuneBudget(budget)
            let configuration = RecipeTuner.Configuration(
                budget: stated,
                evaluation: try .init(sequenceLength: evaluationSequenceLength, windowCount: windows),
                screenWindows: screenWindows, maxEvaluations: maxEvaluations, ranking: rank,
                alternatives: noAlternatives ? []
                    : alternatives.isEmpty ? TuneCandidates.Alternative.defaults(for: recipe)
                    : try alternatives.map { try TuneCandidates.Alternative($0) },
                taskItems: try items.map {
                    try TaskEvaluation.prepare($0, tokenizer: try loaded.requireTokenizer(), contextLength: loaded.model.contextLength)
                },
                screenItems: screenItems)
            var progress = RecipeTuner.Progress()
            progress.message = { ProgressBar.log($0) }
            progress.step = { step in ProgressBar.log(Self.row(step, budget: stated)) }
            progress.candidate = { change, phase in
                ProgressBar.log("\(phase): \(change)")
                var bar: ProgressBar?
                return (quantizationProgress(recipe), { done, total in
                    if bar == nil { bar = ProgressBar("evaluation ", total: total) }
                    bar?.update(done)
                })
            }
            ProgressBar.log("step  phase   metric     bits    s      change")
            let report = try TuneCommand.run(
                loaded, recipe: recipe, evaluationText: text, configuration: configuration, directory: out, progress: progress)
            if json {
                var paths = ["output": out, "log": out + "/tune-log.json"]
                if report.meetsBudget {
                    paths["model"] = out + "/model"
                    paths["recipe"] = out + "/recipe.yaml"
                    paths["report"] = out + "/report/index.html"
                }
                try printJSON(report, paths: paths)
            } else {
                print("budget:       \(report.budget) \(report.meetsBudget ? "met" : "NOT met")")
                print("best:         \(report.best)")
                if let perplexity = report.perplexity, let floatPerplexity = report.floatPerplexity,
                   let kl = report.klDivergence, let top1 = report.top1Agreement {
                    print(String(format: "perplexity:   %.4f (float %.4f, %@); KL %.4f; top-1 %.2f%%", perplexity,
                                 floatPerplexity, report.metric, kl, top1 * 100))
                }
                if let accuracy = report.accuracy, let floatAccuracy = report.floatAccuracy {
                    print(String(format: "accuracy:     %.2f%% (float %.2f%%, %@)", accuracy * 100, floatAccuracy * 100, report.metric))
                }
                print(String(format: "bits/weight:  %.3f (quantized layers; float layers at 16)", report.bitsPerWeight))
                print("layers:       \(report.floatLayers.count) kept in float, \(report.raisedLayers.count) raised")
                print(String(format: "search:       %d steps, %.0f s", report.steps.count, report.seconds))
                print("saved:        \(out)\(report.meetsBudget ? " (model/, recipe.yaml, tune-log.json, report/)" : " (tune-log.json)")")
            }
            guard report.meetsBudget else {
                FileHandle.standardError.write(Data(
                    "error: no candidate meets \(report.budget); the closest was \(report.best) (\(report.metric)); see \(out)/tune-log.json\n".utf8))
                throw ExitCode(Self.missedBudgetStatus)
            }
        }
    }

    /// One line of the terminal table.
    static func row(_ step: RecipeTuner.Step, budget: TuneBudget) -> String {
        String(
            format: "%4d  %@  %@  %6.3f  %5.1f  %@%@%@", step.step, step.phase.padding(toLength: 6, withPad: " ", startingAt: 0),
            budget.format(step.metric).padding(toLength: 9, withPad: " ", startingAt: 0),
            step.bitsPerWeight, step.seconds, step.change, step.meetsBudget ? "  ✓" : "", step.cached ? " (cached)" : "")
    }
}
