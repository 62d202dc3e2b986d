import Analysis
import ArgumentParser
import Foundation
import Pipeline

/// `quanta eval`: perplexity on a text file, or multiple-choice accuracy on a task file, optionally against a
/// reference model.
struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Perplexity of a text (--text) or multiple-choice accuracy (--task), optionally against a reference.",
        discussion: """
            --task reads JSON Lines, one item per line: {"context": str, "choices": [str, ...], "answer": int}, or \
            msModelSlim's BoolQ layout {"title", "passage", "question", "answer": bool} (prompt "{title} -- {passage}\\n\
            Question:{question}?\\nAnswer:", choices " yes" / " no"). Each choice is scored by the summed log-likelihood \
            of its tokens after the context (acc) and by that sum per character of the choice (acc_norm), as \
            lm-evaluation-harness does; accuracies come with a 95% Wilson score interval.
            """)

    @Argument(help: "Model: a GGUF file or a Hugging Face folder.") var model: String
    @Option(
        help: "UTF-8 text file to score for perplexity (tokenized whole, without BOS unless the model asks for one).")
    var text: String?
    @Option(help: "JSON Lines file of multiple-choice items to score for accuracy.") var task: String?
    // Numbers parse unconditionally, so `--windows -3` is judged as -3 instead of a missing value and an option.
    @Option(name: .customLong("seq-len"), parsing: .unconditional, help: "Tokens per window (--text; default 512).")
    var sequenceLength: Int?
    @Option(parsing: .unconditional, help: "Windows scored from the start of the text (--text; 0 = all; default 40).")
    var windows: Int?
    @Option(parsing: .unconditional, help: "Score only the first N items of the task file (--task).") var limit: Int?
    @Option(help: "Reference model: KL, top-1, perplexity ratio (--text); its accuracy, answer agreement (--task).")
    var reference: String?
    @Flag(help: "Print one JSON object instead of text.") var json = false

    func validate() throws {
        switch (text, task) {
        case (nil, nil):
            throw ValidationError("pass --text FILE (perplexity) or --task FILE (multiple-choice accuracy)")
        case (.some, .some): throw ValidationError("--text and --task are mutually exclusive: pass one of them")
        case (.some, nil):
            if limit != nil { throw ValidationError("--limit applies to --task, not --text") }
        case (nil, .some):
            if sequenceLength != nil { throw ValidationError("--seq-len applies to --text, not --task") }
            if windows != nil { throw ValidationError("--windows applies to --text, not --task") }
        }
        if let sequenceLength, sequenceLength < 2 {
            throw ValidationError("--seq-len must be >= 2, got \(sequenceLength)")
        }
        if let windows, windows < 0 {
            throw ValidationError("--windows must be >= 0 (0 scores every window), got \(windows)")
        }
        if let limit, limit < 1 { throw ValidationError("--limit must be >= 1, got \(limit)") }
    }

    func run() throws {
        try reportingErrors {
            if let task {
                let report = try EvaluationCommand.runTask(
                    modelPath: model, taskPath: task, referencePath: reference, limit: limit, options: runnerLoadOptions())
                if json { try printJSON(report) } else { print(report.humanReadable) }
                return
            }
            guard let text else { return }  // validate() requires --text or --task
            let windows = self.windows ?? 40
            let settings = try PerplexityEvaluation.Configuration(
                sequenceLength: sequenceLength ?? 512, windowCount: windows == 0 ? nil : windows)
            let report = try EvaluationCommand.run(
                modelPath: model, textPath: text, referencePath: reference, configuration: settings,
                options: runnerLoadOptions())
            if json {
                try printJSON(report)
            } else {
                print(report.humanReadable)
            }
        }
    }
}
