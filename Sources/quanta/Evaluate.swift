import Analysis
import ArgumentParser
import Foundation
import Pipeline

/// `quanta eval`: perplexity on a text file, optionally against a reference model.
struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Perplexity over non-overlapping windows of a text; with --reference also KL divergence and top-1 agreement.")

    @Argument(help: "Model: a GGUF file or a Hugging Face folder.") var model: String
    @Option(help: "UTF-8 text file to score (tokenized whole, without BOS unless the model asks for one).") var text: String
    // Numbers parse unconditionally, so `--windows -3` is judged as -3 instead of a missing value and an option.
    @Option(name: .customLong("seq-len"), parsing: .unconditional, help: "Tokens per window.") var sequenceLength = 512
    @Option(parsing: .unconditional, help: "Windows scored from the start of the text (0 = all).") var windows = 40
    @Option(help: "Reference model for KL divergence, top-1 agreement and perplexity ratio.") var reference: String?
    @Flag(help: "Print one JSON object instead of text.") var json = false

    func validate() throws {
        guard sequenceLength >= 2 else { throw ValidationError("--seq-len must be >= 2, got \(sequenceLength)") }
        guard windows >= 0 else { throw ValidationError("--windows must be >= 0 (0 scores every window), got \(windows)") }
    }

    func run() throws {
        try reportingErrors {
            let settings = try PerplexityEvaluation.Configuration(
                sequenceLength: sequenceLength, windowCount: windows == 0 ? nil : windows)
            let report = try EvaluationCommand.run(
                modelPath: model, textPath: text, referencePath: reference, configuration: settings)
            if json {
                try printJSON(report)
            } else {
                print(report.humanReadable)
            }
        }
    }
}
