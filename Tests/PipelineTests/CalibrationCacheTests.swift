import Foundation
import Inference
import Pipeline
import QuantAlgorithms
import QuantCore
import Quantization
import TestSupport
import Testing

/// A recipe quantized again with a calibration cache: no new pass where the weights are unchanged, results equal to a
/// run without the cache under `exact` reuse, the first statistics reused under `acrossWeightChanges`.
@Suite struct CalibrationCacheTests {
    static func setUp() throws -> (LoadedModel, QuantRecipe) {
        let (modelPath, text, _) = try TinyModelFiles.modelAndCalibrationText()
        let recipe = try JSONDecoder().decode(QuantRecipe.self, from: Data("""
            {"name": "w8a8-kv", "weight": {"dtype": "int8", "granularity": "per_channel"},
             "input": {"dtype": "int8"}, "kv_cache": {"dtype": "fp8_e4m3"},
             "calibration": {"file": "\(text)", "samples": 2, "seq_len": 16}}
            """.utf8))
        return (try ModelLoader.load(modelPath), recipe)
    }

    /// One layer's quantization, compared exactly.
    struct LayerState: Equatable {
        var name: String
        var weight: QuantizedTensor?
        var input: ActivationQuantizer?
        var output: ActivationQuantizer?
    }

    /// Every layer's stored weight and activation quantizers, and the KV quantizers.
    static func state(_ quantized: QuantizedModel) -> [LayerState] {
        let model = quantized.model
        return model.linearLayers.map { linear in
            LayerState(name: linear.name, weight: linear.quantizedWeight, input: linear.inputQuantizer, output: linear.outputQuantizer)
        } + model.blocks.enumerated().map { index, block in
            LayerState(name: "kv \(index)", weight: nil, input: block.keyQuantizer, output: block.valueQuantizer)
        }
    }

    @Test func exactReuseSkipsCalibrationOnlyWhenWeightsAreUnchangedAndMatchesAFreshRun() throws {
        let (loaded, recipe) = try Self.setUp()
        let cache = CalibrationCache(reuse: .exact)
        let first = try ModelQuantization.run(loaded, recipe: recipe, cache: cache)
        #expect(cache.passes == 1)
        #expect(Self.state(first) == Self.state(try ModelQuantization.run(loaded, recipe: recipe)))

        // Another input scheme at some layers keeps the weights: no new pass, and the same model as a fresh run.
        var dynamic = recipe
        try dynamic.override("*.mlp.*", with: try QuantRecipe.preset("w8a8-int8-dynamic"))
        let reused = try ModelQuantization.run(loaded, recipe: dynamic, cache: cache)
        #expect(cache.passes == 1)
        #expect(cache.reusedObservers > 0)
        #expect(Self.state(reused) == Self.state(try ModelQuantization.run(loaded, recipe: dynamic)))

        // A rolled-back layer changes the weights: exact reuse recalibrates, and again matches a fresh run.
        var rolledBack = recipe
        rolledBack.keepFloat("model.layers.0.mlp.down_proj")
        let recalibrated = try ModelQuantization.run(loaded, recipe: rolledBack, cache: cache)
        #expect(cache.passes == 2)
        #expect(Self.state(recalibrated) == Self.state(try ModelQuantization.run(loaded, recipe: rolledBack)))
    }

    @Test func reuseAcrossWeightChangesKeepsTheFirstStatistics() throws {
        let (loaded, recipe) = try Self.setUp()
        let cache = CalibrationCache(reuse: .acrossWeightChanges)
        let first = try ModelQuantization.run(loaded, recipe: recipe, cache: cache)
        var rolledBack = recipe
        rolledBack.keepFloat("model.layers.0.mlp.down_proj")
        let screened = try ModelQuantization.run(loaded, recipe: rolledBack, cache: cache)
        #expect(cache.passes == 1)
        let firstInputs = Dictionary(uniqueKeysWithValues: first.model.linearLayers.map { ($0.name, $0.inputQuantizer) })
        for linear in screened.model.linearLayers where linear.name != "model.layers.0.mlp.down_proj" && linear.name != "lm_head" {
            #expect(linear.inputQuantizer == firstInputs[linear.name]!, "\(linear.name)")
        }
        #expect(screened.model.linearLayers.first { $0.name == "model.layers.0.mlp.down_proj" }!.inputQuantizer == nil)
    }

    @Test func statisticsAreNeverSharedAcrossAlgorithms() throws {
        let (loaded, recipe) = try Self.setUp()
        let cache = CalibrationCache(reuse: .acrossWeightChanges)
        _ = try ModelQuantization.run(loaded, recipe: recipe, cache: cache)
        var rotated = recipe
        rotated.algorithms = [try AlgorithmStep.named("rotation")]
        // Rotation changes the activations' basis: the unrotated statistics would be wrong, so it calibrates anew.
        let fresh = try ModelQuantization.run(loaded, recipe: rotated, cache: cache)
        #expect(cache.passes == 2)
        #expect(Self.state(fresh) == Self.state(try ModelQuantization.run(loaded, recipe: rotated)))
    }

    @Test func aWholeModelTransformIsComputedOnceAndReusedExactly() throws {
        let (loaded, recipe) = try Self.setUp()
        var rotated = recipe
        rotated.algorithms = [try AlgorithmStep.named("rotation")]
        let cache = CalibrationCache(reuse: .exact)
        var logged: [String] = []
        var progress = ModelQuantization.Progress()
        progress.log = { logged.append($0) }
        _ = try ModelQuantization.run(loaded, recipe: rotated, cache: cache, progress: progress)
        #expect(!logged.contains { $0.contains("reused from the calibration cache") })
        // Another layer rolled back: the rotated float model is taken from the cache, and the result is what a run
        // without the cache computes, bit for bit.
        rotated.keepFloat("model.layers.0.mlp.down_proj")
        logged = []
        let reused = try ModelQuantization.run(loaded, recipe: rotated, cache: cache, progress: progress)
        #expect(logged.contains { $0.contains("reused from the calibration cache") })
        #expect(Self.state(reused) == Self.state(try ModelQuantization.run(loaded, recipe: rotated)))
        #expect(reused.model.linearLayers.map(\.weight) == (try ModelQuantization.run(loaded, recipe: rotated)).model.linearLayers.map(\.weight))
    }

    @Test func anExactViewOfAScreeningCacheReusesOnlyStatisticsOfTheSameWeights() throws {
        let (loaded, recipe) = try Self.setUp()
        let screening = CalibrationCache(reuse: .acrossWeightChanges)
        _ = try ModelQuantization.run(loaded, recipe: recipe, cache: screening)
        var rolledBack = recipe
        rolledBack.keepFloat("model.layers.0.mlp.down_proj")
        _ = try ModelQuantization.run(loaded, recipe: rolledBack, cache: screening)
        #expect(screening.passes == 1)

        let exact = screening.sharing(reuse: .exact)
        // Only inputs changed: the first pass's statistics are those of the same weights, so no new pass, and the
        // model equals a fresh run.
        var dynamic = recipe
        try dynamic.override("*.mlp.*", with: try QuantRecipe.preset("w8a8-int8-dynamic"))
        let reused = try ModelQuantization.run(loaded, recipe: dynamic, cache: exact)
        #expect(exact.passes == 1)
        #expect(Self.state(reused) == Self.state(try ModelQuantization.run(loaded, recipe: dynamic)))
        // A rolled-back layer was screened with reused statistics, never observed with its own weights: recalibrated.
        let fresh = try ModelQuantization.run(loaded, recipe: rolledBack, cache: exact)
        #expect(exact.passes == 2)
        #expect(Self.state(fresh) == Self.state(try ModelQuantization.run(loaded, recipe: rolledBack)))
    }
}
