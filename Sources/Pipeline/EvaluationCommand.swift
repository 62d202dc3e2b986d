import Analysis
import Foundation
import Inference
import Quantization
import TensorCore

/// `quanta eval` as a library call: load, tokenize, score, and report with timing and peak memory.
public enum EvaluationCommand {
    /// What `quanta eval` prints.
    public struct Report: Encodable, Sendable {
        public var model: String
        public var text: String
        public var textTokens: Int
        public var result: PerplexityEvaluation.Result
        public var seconds: Double
        public var peakMemoryMB: Double

        enum CodingKeys: String, CodingKey {
            case model, text, seconds
            case textTokens = "text_tokens"
            case peakMemoryMB = "peak_memory_mb"
        }

        public func encode(to encoder: any Encoder) throws {
            try result.encode(to: encoder)
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(model, forKey: .model)
            try c.encode(text, forKey: .text)
            try c.encode(textTokens, forKey: .textTokens)
            try c.encode(seconds, forKey: .seconds)
            try c.encode(peakMemoryMB, forKey: .peakMemoryMB)
        }

        /// Several lines for a terminal.
        public var humanReadable: String {
            var lines = [
                "model:       \(model)",
                "text:        \(text) (\(textTokens) tokens)",
                "windows:     \(result.windows) × \(result.sequenceLength) tokens, \(result.tokens) scored",
                String(format: "perplexity:  %.4f (mean NLL %.5f)", result.perplexity, result.meanNegativeLogLikelihood),
            ]
            if let kl = result.klDivergence, let top1 = result.top1Agreement, let ratio = result.perplexityRatio,
               let referencePerplexity = result.referencePerplexity {
                lines.append(String(format: "reference:   perplexity %.4f, ratio %.4f", referencePerplexity, ratio))
                lines.append(String(format: "KL(ref‖model): %.6f nats/token, top-1 agreement %.2f%%", kl, top1 * 100))
            }
            lines.append(String(format: "time:        %.1f s, peak memory %.0f MB", seconds, peakMemoryMB))
            return lines.joined(separator: "\n")
        }
    }

    /// Runs the evaluation. The reference, when given, must share the model's tokenizer. `options` load both models
    /// (packed weights by default: a quantized model runs from its codes).
    public static func run(
        modelPath: String, textPath: String, referencePath: String?, configuration: PerplexityEvaluation.Configuration,
        options: ModelLoader.Options = .packed
    ) throws -> Report {
        let start = Date()
        let text = try TextFile.read(textPath)
        let loaded = try ModelLoader.load(modelPath, options: options)
        let tokenizer = try loaded.requireTokenizer()
        let tokens = tokenizer.encode(text)
        let evaluation = PerplexityEvaluation(configuration: configuration)
        let windowCount = try evaluation.windows(of: tokens).count
        let reference = try referencePath.map { try ModelLoader.load($0, options: options).model }
        let bar = ProgressBar("eval", total: windowCount)
        let result = try evaluation.evaluate(loaded.model, tokens: tokens, reference: reference) { done, _ in bar.update(done) }
        return Report(
            model: modelPath, text: textPath, textTokens: tokens.count, result: result,
            seconds: Date().timeIntervalSince(start), peakMemoryMB: ResourceUsage.peakMemoryMB())
    }
}
