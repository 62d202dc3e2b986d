import ArgumentParser
import Foundation
import Inference
import Pipeline
import Tokenization

/// `quanta generate`: answer a prompt, streaming tokens as they come.
struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate text; the prompt is wrapped in the model's chat template unless --raw is given.")

    @Argument(help: "Model: a GGUF file or a Hugging Face folder.") var model: String
    @Option(help: "The user's message (or the raw text with --raw).") var prompt: String
    @Option(help: "System message; default: the template's own.") var system: String?
    @Flag(help: "Use the prompt as is, without the chat template.") var raw = false
    // Numbers parse unconditionally, so `--max-tokens -3` is judged as -3 instead of a missing value and an option.
    @Option(name: .customLong("max-tokens"), parsing: .unconditional, help: "Most new tokens.") var maxTokens = 128
    @Option(parsing: .unconditional, help: "Sampling temperature; 0 is greedy.") var temperature: Float = 0
    @Option(name: .customLong("top-k"), parsing: .unconditional, help: "Sample among the k most likely tokens.") var topK = 40
    @Option(name: .customLong("top-p"), parsing: .unconditional, help: "Nucleus: smallest set of tokens with this much probability.")
    var topP: Float = 0.95
    @Option(parsing: .unconditional, help: "Random seed for sampling.") var seed: UInt64 = 0
    @Flag(help: "Print prefill/decode speed on standard error afterwards.") var stats = false
    @Option(parsing: .unconditional, help: ArgumentHelp(
        "Write this many samples (seeds --seed, --seed + 1, ...), decoded together as one batch, each followed by a blank line.",
        discussion: "With --count above 1 the samples are printed when all are done, not streamed."))
    var count = 1

    func validate() throws {
        guard maxTokens >= 1 else { throw ValidationError("--max-tokens must be >= 1, got \(maxTokens)") }
        guard temperature >= 0, temperature.isFinite else {
            throw ValidationError("--temperature must be >= 0 (0 is greedy), got \(temperature)")
        }
        guard topK >= 1 else { throw ValidationError("--top-k must be >= 1, got \(topK)") }
        guard topP > 0, topP <= 1 else { throw ValidationError("--top-p must be in (0, 1], got \(topP)") }
        guard count >= 1 else { throw ValidationError("--count must be >= 1, got \(count)") }
        if count > 1 && stats { throw ValidationError("--stats times one streamed sample; leave it out with --count") }
    }

    func run() throws {
        try reportingErrors {
            let loaded = try ModelLoader.load(model, options: runnerLoadOptions())
            loaded.model.adviseHugePages()  // decoding streams every weight once per token
            let tokenizer = try loaded.requireTokenizer()
            let text: String
            if raw {
                text = prompt
            } else {
                guard loaded.chatTemplate != nil else {
                    throw PipelineError.invalidArgument("\(model) has no chat template; pass --raw to use the prompt as is")
                }
                var template = try ChatPrompt.template(for: loaded)
                if let system { template.defaultSystemPrompt = system }
                text = template.render([ChatMessage(role: "user", content: prompt)], addGenerationPrompt: true)
            }
            let promptTokens = tokenizer.encode(text, addSpecialTokens: raw)
            let settings = try Generation.Configuration(
                maximumNewTokens: maxTokens,
                sampler: try .init(temperature: temperature, topK: topK, topP: topP, seed: seed),
                stopTokenIDs: ChatPrompt.stopTokenIDs(tokenizer))
            if count > 1 {
                let samplers = try (0..<count).map { index in
                    try Sampler.Configuration(temperature: temperature, topK: topK, topP: topP, seed: seed &+ UInt64(index))
                }
                let outputs = try Generation(configuration: settings).run(
                    loaded.model, prompts: Array(repeating: promptTokens, count: count), samplers: samplers)
                for tokens in outputs {
                    var stream = TokenStreamDecoder(tokenizer: tokenizer, skipSpecialTokens: true)
                    var text = ""
                    for id in tokens { text += try stream.append(id) }
                    FileHandle.standardOutput.write(Data((text + stream.finish() + "\n\n").utf8))
                }
                return
            }
            var stream = TokenStreamDecoder(tokenizer: tokenizer, skipSpecialTokens: true)
            var streamError: (any Error)?
            let (_, statistics) = try Generation(configuration: settings).run(loaded.model, prompt: promptTokens) { id in
                do {
                    let piece = try stream.append(id)
                    FileHandle.standardOutput.write(Data(piece.utf8))
                } catch {
                    streamError = error
                }
            }
            if let streamError { throw streamError }
            FileHandle.standardOutput.write(Data((stream.finish() + "\n").utf8))
            if stats {
                let line = String(
                    format: "prompt %d tokens in %.2f s (%.1f tokens/s); %d new tokens in %.2f s (%.2f tokens/s)\n",
                    statistics.promptTokens, statistics.prefillSeconds, Double(statistics.promptTokens) / statistics.prefillSeconds,
                    statistics.generatedTokens, statistics.decodeSeconds,
                    Double(statistics.generatedTokens) / max(statistics.decodeSeconds, 1e-9))
                FileHandle.standardError.write(Data(line.utf8))
            }
        }
    }
}
