import Analysis
import Foundation
import QuantCore
import Quantization

/// `quanta tune` as a library call: the recipe (or a whole-model alternative to it) with the fewest bits per weight
/// whose accuracy meets a budget, found by raising the most sensitive layers up a ladder of precisions.
///
/// 1. Every candidate is scored against the float model on a few windows (screening), quantized with calibration
///    statistics reused from the first pass (`CalibrationCache.Reuse.acrossWeightChanges`).
/// 2. The best base (the recipe or an alternative) is chosen by its screened metric; its layers are ranked by
///    sensitivity once (cached).
/// 3. For each ladder level, a binary search finds the fewest top-ranked layers at that level that meet the budget
///    when screened (the metric is taken as monotone in the count).
/// 4. Those candidates, fewest bits first, get a full evaluation (at most `maxEvaluations`); one that misses the
///    budget is retried with a quarter more layers raised.
/// 5. The winner is quantized again without reused statistics, as `quanta quantize` would from the written recipe,
///    and evaluated in full: that is the answer (retried like a candidate if it misses).
public enum RecipeTuner {
    public struct Configuration: Sendable {
        public var budget: TuneBudget
        public var evaluation: PerplexityEvaluation.Configuration
        public var screenWindows: Int
        public var maxEvaluations: Int
        public var ranking: LayerRollback.Ranking
        public var alternatives: [TuneCandidates.Alternative]
        /// Multiple-choice items, for a budget on task accuracy (scored instead of the text windows).
        public var taskItems: [TaskEvaluation.PreparedItem]?
        /// Items for screening (the first ones), for a budget on task accuracy.
        public var screenItems: Int

        public init(
            budget: TuneBudget, evaluation: PerplexityEvaluation.Configuration, screenWindows: Int = 8,
            maxEvaluations: Int = 6, ranking: LayerRollback.Ranking = .measured, alternatives: [TuneCandidates.Alternative],
            taskItems: [TaskEvaluation.PreparedItem]? = nil, screenItems: Int = 50
        ) {
            (self.budget, self.evaluation, self.screenWindows, self.maxEvaluations, self.ranking, self.alternatives) = (
                budget, evaluation, screenWindows, maxEvaluations, ranking, alternatives)
            (self.taskItems, self.screenItems) = (taskItems, screenItems)
        }
    }

    /// One line of the tuning log.
    public struct Step: Codable, Sendable {
        public var step: Int
        public var change: String
        public var phase: String
        public var metric: Double
        public var metrics: TuneMetrics
        public var bitsPerWeight: Double
        public var raisedLayers: Int
        public var meetsBudget: Bool
        public var seconds: Double
        public var cached: Bool

        enum CodingKeys: String, CodingKey {
            case step, change, phase, metric, metrics, cached, seconds
            case bitsPerWeight = "bits_per_weight"
            case raisedLayers = "raised_layers"
            case meetsBudget = "meets_budget"
        }
    }

    /// The answer, or the best candidate found when none meets the budget.
    public struct Outcome {
        /// The winning recipe and its model, quantized as `quanta quantize` would from the recipe; nil on a miss.
        public var recipe: QuantRecipe?
        public var quantized: QuantizedModel?
        /// The winner's full evaluation, or on a miss the metrics of the candidate closest to the budget.
        public var metrics: TuneMetrics
        public var bitsPerWeight: Double
        public var meetsBudget: Bool
        /// What the winner (or on a miss the closest candidate) changed, as the log names it.
        public var bestChange: String
        /// Layers kept in float, and raised to a higher-precision scheme (float-input or raised).
        public var floatLayers: [String]
        public var raisedLayers: [String]
        public var log: [Step]
    }

    public struct Progress {
        public var step: (Step) -> Void = { _ in }
        public var message: (String) -> Void = { _ in }
        /// Called when a candidate starts to be quantized and measured (a cached result is not): the progress of its
        /// quantization and of its evaluation windows (done, total).
        public var candidate: (_ change: String, _ phase: String) -> (quantization: ModelQuantization.Progress, windows: (Int, Int) -> Void) = {
            _, _ in (ModelQuantization.Progress(), { _, _ in })
        }
        public var debugger = QuantizationDebugger.Progress()
        public init() {}
    }

    public static func run(
        _ loaded: LoadedModel, recipe: QuantRecipe, evaluationTokens: [Int], configuration: Configuration,
        cache: inout TuneCache, progress: Progress = Progress()
    ) throws -> Outcome {
        var search = try Search(
            loaded: loaded, tokens: evaluationTokens, configuration: configuration, cache: cache, progress: progress)
        defer { cache = search.cache }
        return try search.run(recipe)
    }
}
