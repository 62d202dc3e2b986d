import Analysis
import Foundation
import QuantCore
import Quantization

extension RecipeTuner {
    /// How a candidate is measured: screened on a few windows with reused calibration, evaluated in full the same way,
    /// or quantized afresh (as `quanta quantize` would) and evaluated in full.
    enum Phase: String { case screen, full, final }

    /// A candidate: a base recipe with its `count` most sensitive layers at `level`.
    struct Candidate {
        var recipe: QuantRecipe
        var base: String
        var level: TuneCandidates.Level
        var count: Int
        var change: String { level == .recipe ? base : "\(base); top \(count) \(level.rawValue)" }
    }

    struct Search {
        let loaded: LoadedModel
        let tokens: [Int]
        let configuration: Configuration
        var cache: TuneCache
        let progress: Progress
        let calibration = CalibrationCache(reuse: .acrossWeightChanges)
        /// The float model's logits on the evaluation windows, computed once for all candidates.
        let reference: MemoizedLogits
        let modelKey: String
        let tokensKey: String
        var log: [Step] = []
        var quantizedNames: [String] = []
        /// The float model's accuracy by item count (screening uses the first items).
        var floatAccuracy: [Int: Double] = [:]

        init(loaded: LoadedModel, tokens: [Int], configuration: Configuration, cache: TuneCache, progress: Progress) throws {
            guard configuration.budget.isTaskAccuracy == (configuration.taskItems != nil) else {
                throw PipelineError.invalidArgument(configuration.budget.isTaskAccuracy
                    ? "a task-accuracy budget needs multiple-choice task items" : "task items need a task-accuracy budget (acc>=-2%)")
            }
            guard configuration.screenWindows >= 1, configuration.maxEvaluations >= 1 else {
                throw PipelineError.invalidArgument("screening needs at least 1 window and the search at least 1 full evaluation")
            }
            if configuration.taskItems == nil {
                let full = try PerplexityEvaluation(configuration: configuration.evaluation).windows(of: tokens).count
                guard configuration.screenWindows <= full else {
                    throw PipelineError.invalidArgument(
                        "the evaluation text has \(full) windows of \(configuration.evaluation.sequenceLength) tokens, fewer than the \(configuration.screenWindows) screening windows")
                }
            }
            (self.loaded, self.tokens, self.configuration, self.cache, self.progress) = (loaded, tokens, configuration, cache, progress)
            let windows = configuration.taskItems == nil ? max(configuration.screenWindows, configuration.evaluation.windowCount ?? 64) : 0
            reference = MemoizedLogits(loaded.model, capacity: min(windows, 64))
            let size = (try? FileManager.default.attributesOfItem(atPath: loaded.path))?[.size] as? Int ?? 0
            modelKey = "\(loaded.path)#\(size)"
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for token in tokens { hash = (hash ^ UInt64(truncatingIfNeeded: token)) &* 0x100_0000_01b3 }
            tokensKey = "\(tokens.count)#\(String(hash, radix: 16))"
        }

        static func key(_ recipe: QuantRecipe) -> String {
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            return (try? encoder.encode(recipe)).map { String(decoding: $0, as: UTF8.self) } ?? recipe.name
        }

        /// Bits per weight over the layers the recipe quantizes, layers kept in float counted at 16 bits (as they
        /// ship in F16/BF16).
        func bitsPerWeight(_ quantized: QuantizedModel) -> Double {
            let names = Set(quantizedNames)
            var bits = 0.0, count = 0
            for linear in quantized.model.linearLayers where names.contains(linear.name) {
                let elements = linear.weight.shape.reduce(1, *)
                bits += (linear.quantizedWeight?.bitsPerElement ?? 16) * Double(elements)
                count += elements
            }
            return count == 0 ? 16 : bits / Double(count)
        }

        /// Measures `candidate` in `phase` (from the cache when it was measured before, except the final phase, whose
        /// model is wanted), logs the step and returns the result with the model when one was made.
        mutating func measure(_ candidate: Candidate, _ phase: Phase) throws -> (TuneCache.Result, QuantizedModel?) {
            var evaluation = configuration.evaluation
            if phase == .screen { evaluation.windowCount = configuration.screenWindows }
            let items = configuration.taskItems.map { phase == .screen ? Array($0.prefix(configuration.screenItems)) : $0 }
            let scope = items.map { "items \($0.count)" } ?? "\(evaluation.sequenceLength)x\(evaluation.windowCount ?? 0)"
            let key = [modelKey, Self.key(candidate.recipe), tokensKey, scope, phase == .final ? "final" : "reused-calibration"]
                .joined(separator: "|")
            let start = Date()
            var model: QuantizedModel?
            let result: TuneCache.Result
            if phase != .final, let cached = cache.results[key] {
                result = cached
            } else {
                let shown = progress.candidate(candidate.change, phase.rawValue)
                let quantized = try ModelQuantization.run(
                    loaded, recipe: candidate.recipe, keepsReference: phase == .final, cache: phase == .final ? calibration.sharing(reuse: .exact) : calibration,
                    progress: shown.quantization)
                let metrics: TuneMetrics
                if let items {
                    let scored = try TaskEvaluation.score(quantized.model, items: items, progress: shown.windows)
                    if floatAccuracy[items.count] == nil {
                        floatAccuracy[items.count] = try TaskEvaluation.score(loaded.model, items: items).accuracy
                    }
                    metrics = TuneMetrics(accuracy: scored.accuracy, floatAccuracy: floatAccuracy[items.count], windows: items.count)
                } else {
                    let scored = try PerplexityEvaluation(configuration: evaluation).evaluate(
                        quantized.model, tokens: tokens, reference: reference, progress: shown.windows)
                    metrics = TuneMetrics(
                        perplexity: scored.perplexity, floatPerplexity: scored.referencePerplexity!,
                        klDivergence: scored.klDivergence!, top1Agreement: scored.top1Agreement!, windows: scored.windows)
                }
                result = TuneCache.Result(metrics: metrics, bitsPerWeight: bitsPerWeight(quantized))
                cache.results[key] = result
                model = quantized
            }
            let step = Step(
                step: log.count + 1, change: candidate.change, phase: phase.rawValue,
                metric: configuration.budget.value(of: result.metrics), metrics: result.metrics,
                bitsPerWeight: result.bitsPerWeight, raisedLayers: candidate.count,
                meetsBudget: configuration.budget.isMet(by: result.metrics), seconds: Date().timeIntervalSince(start),
                cached: model == nil)
            log.append(step)
            progress.step(step)
            return (result, model)
        }

        /// The base's layers, most sensitive first (measured once per base and cached).
        mutating func ranking(_ base: QuantRecipe) throws -> [String] {
            let key = [modelKey, Self.key(base), configuration.ranking.rawValue].joined(separator: "|")
            if let cached = cache.rankings[key] {
                progress.message("sensitivity: reused the \(configuration.ranking.rawValue) ranking of \(cached.count) layers from the cache")
                return cached.map(\.name)
            }
            let start = Date()
            let quantized = try ModelQuantization.run(
                loaded, recipe: base, keepsReference: true, cache: calibration,
                progress: progress.candidate("ranking layers", "rank").quantization)
            let ranked = try LayerRollback.rank(
                reference: loaded, quantized: quantized, by: configuration.ranking, progress: progress.debugger)
            cache.rankings[key] = ranked
            progress.message(String(
                format: "sensitivity: ranked %d layers by %@ in %.0f s; most sensitive: %@", ranked.count,
                configuration.ranking.rawValue, Date().timeIntervalSince(start),
                ranked.prefix(3).map(\.name).joined(separator: ", ")))
            return ranked.map(\.name)
        }

        mutating func run(_ recipe: QuantRecipe) throws -> Outcome {
            let budget = configuration.budget
            quantizedNames = try QuantizationPlan(recipe: recipe, model: loaded.model).layers
                .filter { $0.weight != nil || $0.input != nil }.map(\.name)

            // Bases: the recipe and each whole-model alternative, screened.
            var bases: [(recipe: QuantRecipe, name: String, result: TuneCache.Result)] = []
            for (recipe, name) in [(recipe, "recipe")] + (try configuration.alternatives.map { (try $0.apply(to: recipe), $0.description) }) {
                let (result, _) = try measure(Candidate(recipe: recipe, base: name, level: .recipe, count: 0), .screen)
                bases.append((recipe, name, result))
            }
            let base = bases.min { budget.value(of: $0.result.metrics) < budget.value(of: $1.result.metrics) }!
            progress.message("base: \(base.name) (screened \(budget.format(budget.value(of: base.result.metrics))))")

            // Per level, the fewest top-ranked layers that meet the budget when screened.
            if budget.isMet(by: base.result.metrics) {
                let chosen = Candidate(recipe: base.recipe, base: base.name, level: .recipe, count: 0)
                let (result, model) = try measure(chosen, .final)
                if budget.isMet(by: result.metrics) { return outcome(chosen, result, model!, meets: true) }
                progress.message("base: missed in full; searching per-layer choices")
            }
            let order = try ranking(base.recipe)
            func candidate(_ level: TuneCandidates.Level, _ count: Int) -> Candidate {
                Candidate(
                    recipe: TuneCandidates.recipe(base.recipe, raising: order.prefix(count), to: level),
                    base: base.name, level: level, count: count)
            }
            /// The fewest top-ranked layers at `level` that meet the budget when screened; nil when even all do not.
            func search(_ level: TuneCandidates.Level) throws -> (candidate: Candidate, result: TuneCache.Result)? {
                var (low, high) = (0, order.count)
                var (highResult, _) = try measure(candidate(level, high), .screen)
                guard budget.isMet(by: highResult.metrics) else {
                    progress.message("\(level.rawValue): not enough even with every layer raised")
                    return nil
                }
                while high - low > 1 {
                    let middle = (low + high) / 2
                    let (result, _) = try measure(candidate(level, middle), .screen)
                    if budget.isMet(by: result.metrics) { (high, highResult) = (middle, result) } else { low = middle }
                }
                return (candidate(level, high), highResult)
            }

            var pending = TuneCandidates.levels(for: base.recipe)
            var evaluations = 0
            while !pending.isEmpty && evaluations < configuration.maxEvaluations {
                // Levels are cheapest first: once one meets the budget when screened at the base's own bits per weight
                // (its raised layers keep their weight scheme), later levels wait until its full evaluation misses.
                var found: [(candidate: Candidate, result: TuneCache.Result)] = []
                while let level = pending.first {
                    pending.removeFirst()
                    guard let hit = try search(level) else { continue }
                    found.append(hit)
                    if hit.result.bitsPerWeight <= base.result.bitsPerWeight + 1e-9, !pending.isEmpty {
                        progress.message("\(pending.map(\.rawValue).joined(separator: ", ")): searched only if \(hit.candidate.change) misses in full")
                        break
                    }
                }

                // Full evaluations, fewest bits first; a miss is retried with a quarter more layers.
                found.sort { ($0.result.bitsPerWeight, budget.value(of: $0.result.metrics)) < ($1.result.bitsPerWeight, budget.value(of: $1.result.metrics)) }
                var confirmed: Candidate?
                for (start, _) in found where evaluations < configuration.maxEvaluations && confirmed == nil {
                    var count = start.count
                    while evaluations < configuration.maxEvaluations {
                        let (result, _) = try measure(candidate(start.level, count), .full)
                        evaluations += 1
                        if budget.isMet(by: result.metrics) {
                            confirmed = candidate(start.level, count)
                            break
                        }
                        if count == order.count { break }
                        count = min(order.count, count + max(1, count / 4))
                    }
                }
                // The final quantization calibrates as `quanta quantize` would (statistics reused only for identical
                // weights); should it still miss, retry the same way.
                if let first = confirmed {
                    var count = first.count
                    while true {
                        let chosen = candidate(first.level, count)
                        let (result, model) = try measure(chosen, .final)
                        if budget.isMet(by: result.metrics) { return outcome(chosen, result, model!, meets: true) }
                        evaluations += 1
                        if count == order.count || evaluations >= configuration.maxEvaluations + 2 { break }
                        count = min(order.count, count + max(1, count / 4))
                    }
                    break
                }
            }
            return bestMiss()
        }

        /// No candidate met the budget: the one closest to it among those evaluated in full (or screened).
        func bestMiss() -> Outcome {
            let budget = configuration.budget
            let full = log.filter { $0.phase != Phase.screen.rawValue }
            let best = (full.isEmpty ? log : full).min { $0.metric < $1.metric }!
            return Outcome(
                recipe: nil, quantized: nil, metrics: best.metrics, bitsPerWeight: best.bitsPerWeight,
                meetsBudget: false, bestChange: best.change + " (\(best.phase): \(budget.format(best.metric)))",
                floatLayers: [], raisedLayers: [], log: log)
        }

        func outcome(_ chosen: Candidate, _ result: TuneCache.Result, _ model: QuantizedModel, meets: Bool) -> Outcome {
            let names = chosen.recipe.overrides.suffix(chosen.level == .recipe ? 0 : chosen.count).map(\.pattern)
            return Outcome(
                recipe: chosen.recipe, quantized: model, metrics: result.metrics, bitsPerWeight: result.bitsPerWeight,
                meetsBudget: meets, bestChange: chosen.change,
                floatLayers: chosen.level == .float ? names : [], raisedLayers: chosen.level == .float ? [] : names, log: log)
        }
    }
}
