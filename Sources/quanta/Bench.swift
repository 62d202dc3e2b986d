import ArgumentParser
import Foundation
import Pipeline
import Quantization
import TensorCore

/// `quanta bench`: prefill and decode speed on a prompt taken from a text file.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Prefill and decode tokens/s (medians), for side-by-side runs with llama.cpp (benchmarks/engine_vs_llamacpp.py).")

    @Argument(help: "Model: a GGUF file or a Hugging Face folder.") var model: String
    @Option(help: "UTF-8 text whose first tokens form the prompt.") var text: String
    @Option(name: .customLong("prompt-tokens"), help: "Prompt length.") var promptTokens = 512
    @Option(name: .customLong("decode-tokens"), help: "Greedy decode steps after the prompt.") var decodeTokens = 64
    @Option(help: "Timed repetitions after one warm-up.") var repetitions = 3
    @Flag(help: "Print one JSON object.") var json = false

    func run() throws {
        try reportingErrors {
            let loaded = try ModelLoader.load(model, options: runnerLoadOptions())
            loaded.model.adviseHugePages()  // decoding streams every weight once per token
            let tokens = try loaded.requireTokenizer().encode(try TextFile.read(text))
            guard tokens.count >= promptTokens, promptTokens >= 1 else {
                throw PipelineError.invalidArgument("--prompt-tokens \(promptTokens) must be 1...\(tokens.count) (tokens in \(text))")
            }
            let result = try EngineBenchmark.run(
                loaded.model, prompt: Array(tokens[..<promptTokens]), decodeTokens: decodeTokens,
                repetitions: repetitions, threads: Parallel.threadCount)
            if json {
                try printJSON(result)
            } else {
                print(String(format: "prefill: %.1f tokens/s (%d tokens)   decode: %.2f tokens/s (%d tokens)   threads %d   peak %.0f MB",
                             result.prefillTokensPerSecond, promptTokens, result.decodeTokensPerSecond, decodeTokens,
                             result.threads, result.peakMemoryMB))
            }
        }
    }
}
