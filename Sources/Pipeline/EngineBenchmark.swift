import Foundation
import Inference
import TensorCore

/// Measures the engine the way llama.cpp's users see it: prefill of a prompt (logits of its last token only), then
/// single-token greedy decode steps through the KV cache.
public enum EngineBenchmark {
    /// Medians over the repetitions.
    public struct Result: Codable, Sendable {
        public var promptTokens: Int
        public var decodeTokens: Int
        public var repetitions: Int
        public var threads: Int
        public var prefillTokensPerSecond: Double
        public var decodeTokensPerSecond: Double
        public var prefillSecondsAll: [Double]
        public var decodeSecondsAll: [Double]
        public var peakMemoryMB: Double

        enum CodingKeys: String, CodingKey {
            case repetitions, threads
            case promptTokens = "prompt_tokens"
            case decodeTokens = "decode_tokens"
            case prefillTokensPerSecond = "prefill_tokens_per_second"
            case decodeTokensPerSecond = "decode_tokens_per_second"
            case prefillSecondsAll = "prefill_seconds"
            case decodeSecondsAll = "decode_seconds"
            case peakMemoryMB = "peak_memory_mb"
        }
    }

    /// One timed round: prefill of `prompt` (logits of its last token), then `decodeTokens` greedy single-token steps.
    /// - Returns: the `decodeTokens` token ids fed back, the logits of every step (`decodeTokens + 1` rows of
    ///   `vocabularySize`, the prefill's first) and the two phases' wall times.
    public static func greedyRun(_ model: LlamaModel, prompt: [Int], decodeTokens: Int) throws -> (
        tokens: [Int], logits: [[Float]], prefillSeconds: Double, decodeSeconds: Double
    ) {
        let clock = ContinuousClock()
        var cache = model.makeCache(capacity: prompt.count + decodeTokens)
        var start = clock.now
        var logits = try model.forward(tokens: prompt, cache: &cache, logits: .last)
        let prefillSeconds = (clock.now - start).seconds
        var tokens: [Int] = [], rows = [logits.scalars]
        start = clock.now
        for _ in 0..<decodeTokens {
            let next = logits.scalars.indices.max { logits.scalars[$0] < logits.scalars[$1] } ?? 0
            tokens.append(next)
            logits = try model.forward(tokens: [next], cache: &cache, logits: .last)
            rows.append(logits.scalars)
        }
        return (tokens, rows, prefillSeconds, (clock.now - start).seconds)
    }

    /// Runs `repetitions` prefill+decode rounds on `prompt` (after one untimed warm-up round).
    public static func run(_ model: LlamaModel, prompt: [Int], decodeTokens: Int, repetitions: Int, threads: Int) throws -> Result {
        guard !prompt.isEmpty, decodeTokens >= 1, repetitions >= 1 else {
            throw PipelineError.invalidArgument("the benchmark needs a non-empty prompt, at least 1 decode step and at least 1 repetition")
        }
        var prefill: [Double] = [], decode: [Double] = []
        for round in 0...repetitions {
            let timed = try greedyRun(model, prompt: prompt, decodeTokens: decodeTokens)
            if round > 0 {
                prefill.append(timed.prefillSeconds)
                decode.append(timed.decodeSeconds)
            }
        }
        func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        return Result(
            promptTokens: prompt.count, decodeTokens: decodeTokens, repetitions: repetitions, threads: threads,
            prefillTokensPerSecond: Double(prompt.count) / median(prefill),
            decodeTokensPerSecond: Double(decodeTokens) / median(decode),
            prefillSecondsAll: prefill, decodeSecondsAll: decode, peakMemoryMB: ResourceUsage.peakMemoryMB())
    }
}
