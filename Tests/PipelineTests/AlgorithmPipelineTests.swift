import Foundation
import Inference
import Pipeline
import QuantAlgorithms
import QuantCore
import Quantization
import TensorCore
import TestSupport
import Testing

/// Recipes with algorithms on a tiny GGUF model: they run block by block, report what they did, save and reload.
@Suite struct AlgorithmPipelineTests {
    static func recipe(_ algorithms: [AlgorithmStep], text: String) throws -> QuantRecipe {
        var recipe = try QuantRecipe(
            name: "w4-g16", weight: try .init(dataType: .uint4, granularity: .perGroup, groupSize: 16, isSymmetric: false),
            algorithms: algorithms)
        recipe.calibration = .init(file: text, samples: 4, sequenceLength: 24, seed: 0)
        return recipe
    }

    /// Mean squared difference of the logits from the float model's over the calibration text's first tokens.
    static func logitError(_ quantized: QuantizedModel, float: LlamaModel, tokens: [Int]) throws -> Double {
        let a = try quantized.model.logits(for: tokens).scalars
        let b = try float.logits(for: tokens).scalars
        return zip(a, b).reduce(0.0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) } / Double(a.count)
    }

    @Test(arguments: [["awq"], ["gptq"], ["smoothquant"], ["rotation"], ["rotation", "gptq"], ["smoothquant", "awq", "gptq"]])
    func algorithmsRunSaveAndReload(names: [String]) throws {
        let (modelPath, text, directory) = try QuantizeSaveLoadTests.fixture()
        let loaded = try ModelLoader.load(modelPath)
        let recipe = try Self.recipe(names.map { try AlgorithmStep.named($0) }, text: text)
        var logged: [String] = []
        var progress = ModelQuantization.Progress()
        progress.log = { logged.append($0) }
        let quantized = try ModelQuantization.run(loaded, recipe: recipe, progress: progress)
        #expect(quantized.summary.algorithms == names)
        #expect(quantized.summary.quantizedLayers == 14)
        let blockwise = names.filter { $0 != "rotation" }
        for name in blockwise {
            #expect(quantized.summary.algorithmReports.contains { $0.algorithm == name }, "no report from \(name)")
            #expect(logged.contains { $0.hasPrefix("block 2/2 \(name):") }, "no log line from \(name): \(logged)")
        }
        for report in quantized.summary.algorithmReports {
            if let before = report.lossBefore, let after = report.lossAfter {
                #expect(after <= before * 1.0001, "\(report.algorithm) \(report.target): \(before) → \(after)")
            }
        }
        let out = directory + "/q"
        try QuantizedModelFolder.save(quantized, to: out)
        let reloaded = try ModelLoader.load(out)
        let tokens = [1, 100, 200, 258, 7, 33, 99, 12]
        #expect(try reloaded.model.logits(for: tokens).scalars == quantized.model.logits(for: tokens).scalars)
        #expect(try Self.logitError(quantized, float: loaded.model, tokens: tokens) < 1)
    }

    @Test func gptqLowersTheOutputErrorAgainstRoundToNearest() throws {
        let (modelPath, text, _) = try QuantizeSaveLoadTests.fixture()
        let loaded = try ModelLoader.load(modelPath)
        let rtn = try ModelQuantization.run(loaded, recipe: try Self.recipe([], text: text))
        let gptq = try ModelQuantization.run(loaded, recipe: try Self.recipe([try .named("gptq")], text: text))
        let tokens = try loaded.requireTokenizer().encode(try String(contentsOfFile: text, encoding: .utf8)).prefix(48).map { $0 }
        let rtnError = try Self.logitError(rtn, float: loaded.model, tokens: tokens)
        let gptqError = try Self.logitError(gptq, float: loaded.model, tokens: tokens)
        #expect(gptqError < rtnError, "GPTQ \(gptqError) vs RTN \(rtnError)")
        let reports = gptq.summary.algorithmReports.filter { $0.algorithm == "gptq" }
        #expect(reports.count == 14)
        #expect(reports.allSatisfy { $0.lossAfter! <= $0.lossBefore! })
    }

    @Test func unknownSettingsNameTheAllowedOnesBeforeAnyWork() throws {
        let json = #"{"weight": {"dtype": "int8", "granularity": "per_channel"}, "algorithms": [{"name": "gptq", "damping": 0.1}]}"#
        do {
            _ = try JSONDecoder().decode(QuantRecipe.self, from: Data(json.utf8))
            Issue.record("accepted an unknown setting")
        } catch let QuantError.invalidConfiguration(field, reason) {
            #expect(field == "algorithms.gptq.damping")
            #expect(reason.contains("dampening"), "\(reason)")
        }
    }

    @Test func settingsReachTheAlgorithm() throws {
        let (modelPath, text, _) = try QuantizeSaveLoadTests.fixture()
        let recipe = try Self.recipe([.smoothQuant(try SmoothQuant.Configuration(alpha: 0.8))], text: text)
        let quantized = try ModelQuantization.run(try ModelLoader.load(modelPath), recipe: recipe)
        let choices = quantized.summary.algorithmReports.map(\.choice)
        #expect(!choices.isEmpty && choices.allSatisfy { $0.hasPrefix("alpha 0.80") }, "\(choices)")
    }
}
