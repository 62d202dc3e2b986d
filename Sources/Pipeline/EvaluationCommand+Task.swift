import Analysis
import Foundation
import Inference
import Quantization
import TensorCore

extension EvaluationCommand {
    /// What `quanta eval` prints for a multiple-choice task file.
    public struct TaskReport: Encodable, Sendable {
        public var model: String
        public var task: String
        /// The model's accuracy (its fields are the report's top-level fields).
        public var result: TaskAccuracy
        public var referenceModel: String?
        /// The reference's accuracy on the same items.
        public var reference: TaskAccuracy?
        /// Share of items where model and reference chose the same answer (by summed log-likelihood).
        public var agreement: Double?
        /// The model's context window, against which contexts were truncated.
        public var contextLength: Int
        /// Seconds spent scoring the model (not loading, tokenizing, or the reference).
        public var scoringSeconds: Double
        public var seconds: Double
        public var peakMemoryMB: Double

        /// Items the model scored per second.
        public var itemsPerSecond: Double { Double(result.itemCount) / max(scoringSeconds, 1e-9) }

        enum CodingKeys: String, CodingKey {
            case model, task, reference, agreement, seconds
            case referenceModel = "reference_model"
            case contextLength = "context_length"
            case scoringSeconds = "scoring_seconds"
            case itemsPerSecond = "items_per_second"
            case peakMemoryMB = "peak_memory_mb"
        }

        public func encode(to encoder: any Encoder) throws {
            try result.encode(to: encoder)
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(model, forKey: .model)
            try c.encode(task, forKey: .task)
            try c.encodeIfPresent(referenceModel, forKey: .referenceModel)
            try c.encodeIfPresent(reference, forKey: .reference)
            try c.encodeIfPresent(agreement, forKey: .agreement)
            try c.encode(contextLength, forKey: .contextLength)
            try c.encode(scoringSeconds, forKey: .scoringSeconds)
            try c.encode(itemsPerSecond, forKey: .itemsPerSecond)
            try c.encode(seconds, forKey: .seconds)
            try c.encode(peakMemoryMB, forKey: .peakMemoryMB)
        }

        /// Several lines for a terminal.
        public var humanReadable: String {
            func accuracy(_ correct: Int, _ value: Double, _ interval: ConfidenceInterval) -> String {
                String(
                    format: "%.2f%% (%d/%d; 95%% Wilson interval %.2f–%.2f%%)", value * 100, correct, result.itemCount,
                    interval.lower * 100, interval.upper * 100)
            }
            let truncated =
                result.truncatedItems == 0
                ? "none truncated"
                : "\(result.truncatedItems) truncated from the left to fit \(contextLength) tokens"
            var lines = [
                "model:       \(model)",
                "task:        \(task) (\(result.itemCount) items, \(truncated))",
                "acc:         " + accuracy(result.correct, result.accuracy, result.interval),
                "acc_norm:    "
                    + accuracy(result.normalizedCorrect, result.normalizedAccuracy, result.normalizedInterval),
            ]
            if let reference, let agreement, let referenceModel {
                lines.append("reference:   \(referenceModel)")
                lines.append("  acc:       " + accuracy(reference.correct, reference.accuracy, reference.interval))
                lines.append(
                    "  acc_norm:  "
                        + accuracy(
                            reference.normalizedCorrect, reference.normalizedAccuracy, reference.normalizedInterval))
                lines.append(
                    String(
                        format: "agreement:   %.2f%% of items chose the same answer as the reference", agreement * 100))
            }
            lines.append(
                String(format: "speed:       %.2f items/s (%.1f s scoring the model)", itemsPerSecond, scoringSeconds))
            lines.append(String(format: "time:        %.1f s, peak memory %.0f MB", seconds, peakMemoryMB))
            return lines.joined(separator: "\n")
        }
    }

    /// Scores a multiple-choice task file (`MultipleChoiceItem.load`), the first `limit` items when given. The
    /// reference, when given, must share the model's tokenizer. The file is read and checked before any model loads.
    public static func runTask(
        modelPath: String, taskPath: String, referencePath: String?, limit: Int?, options: ModelLoader.Options = .packed
    ) throws
        -> TaskReport
    {
        let start = Date()
        var items = try MultipleChoiceItem.load(contentsOf: taskPath)
        if let limit {
            guard limit >= 1 else { throw AnalysisError.invalidSetting("the item limit must be >= 1, got \(limit)") }
            items = Array(items.prefix(limit))
        }
        let loaded = try ModelLoader.load(modelPath, options: options)
        let tokenizer = try loaded.requireTokenizer()
        let reference = try referencePath.map { try ModelLoader.load($0, options: options).model }
        if let reference, reference.vocabularySize != loaded.model.vocabularySize {
            throw AnalysisError.vocabularyMismatch(
                model: loaded.model.vocabularySize, reference: reference.vocabularySize)
        }
        let contextLength = min(loaded.model.contextLength, reference?.contextLength ?? .max)
        let prepared = try TaskEvaluation.prepare(items, tokenizer: tokenizer, contextLength: contextLength)
        let bar = ProgressBar("eval", total: prepared.count * (reference == nil ? 1 : 2))
        let scoringStart = Date()
        let result = try TaskEvaluation.score(loaded.model, items: prepared) { done, _ in bar.update(done) }
        let scoringSeconds = Date().timeIntervalSince(scoringStart)
        let referenceResult = try reference.map { model in
            try TaskEvaluation.score(model, items: prepared) { done, total in bar.update(total + done) }
        }
        return TaskReport(
            model: modelPath, task: taskPath, result: result, referenceModel: referencePath, reference: referenceResult,
            agreement: referenceResult.map { result.agreement(with: $0) }, contextLength: contextLength,
            scoringSeconds: scoringSeconds, seconds: Date().timeIntervalSince(start),
            peakMemoryMB: ResourceUsage.peakMemoryMB())
    }
}
