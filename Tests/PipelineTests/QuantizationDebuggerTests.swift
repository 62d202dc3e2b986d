import Analysis
import Foundation
import Pipeline
import QuantCore
import Quantization
import TestSupport
import Testing

/// The debugger on a tiny GGUF model quantized with w8a8-int8-static, checked by properties that could fail.
@Suite struct QuantizationDebuggerTests {
    static func quantized(_ preset: String = "w8a8-int8-static") throws -> (LoadedModel, QuantizedModel, String) {
        let (modelPath, text, directory) = try QuantizeSaveLoadTests.fixture()
        var recipe = try QuantRecipe.preset(preset)
        recipe.calibration = .init(file: text, samples: 3, sequenceLength: 16, seed: 0)
        let loaded = try ModelLoader.load(modelPath)
        return (loaded, try ModelQuantization.run(loaded, recipe: recipe), directory)
    }

    static let tokens = [5, 100, 200, 258, 7, 33, 99, 12, 40, 41, 42, 43]

    @Test func metricsFollowTheirDefinitionsOnTheTinyModel() throws {
        let (loaded, quantized, _) = try Self.quantized()
        let result = try QuantizationDebugger.analyze(
            reference: loaded, quantized: quantized, tokens: Self.tokens, inputSource: "test")
        let report = result.report
        #expect(report.layers.count == 14)  // 2 blocks × 7 linears; lm_head excluded
        #expect(report.layers.map(\.index) == Array(0..<14))
        let first = report.layers[0]
        #expect(first.name == "model.layers.0.self_attn.q_proj")
        // Nothing is quantized before the first block's q/k/v: their input equals the float one exactly, so the
        // ref input error is 0 and the ref output error is the io error.
        for layer in report.layers.prefix(3) {
            #expect(layer.referenceInputError == 0, "\(layer.name)")
            #expect(layer.referenceOutputError == layer.ioError, "\(layer.name)")
        }
        // Later layers inherit error from earlier ones.
        #expect(report.layers.last!.referenceInputError > 0)
        #expect(report.layers.allSatisfy { $0.ioError > 0 && $0.weightError > 0 && $0.sqnrDecibels.isFinite })
        #expect(report.outputKL > 0)
        // Every layer alone does less harm than... at least it does some, and the correlation is computed.
        #expect(report.layers.allSatisfy { ($0.measuredKL ?? -1) >= 0 })
        #expect(report.layers.contains { ($0.measuredKL ?? 0) > 0 })
        #expect(report.sensitivityRankCorrelation != nil)
        #expect(result.weights.count == 14 && result.activations.count == 14)
        let a = try #require(result.activations[first.name]?.histograms)
        #expect(a.reference.counts.reduce(0, +) == Self.tokens.count * 32)
    }

    @Test func weightOnlyRecipeHasNoInputError() throws {
        let (loaded, quantized, _) = try Self.quantized("w4a16-g32")
        var configuration = QuantizationDebugger.Configuration()
        configuration.measureSensitivity = false
        let report = try QuantizationDebugger.analyze(
            reference: loaded, quantized: quantized, tokens: Self.tokens, inputSource: "test",
            configuration: configuration
        ).report
        #expect(report.layers.allSatisfy { $0.ioError == 0 && !$0.inputQuantized && $0.measuredKL == nil })
        #expect(report.sensitivitySeconds == nil && report.sensitivityRankCorrelation == nil)
        #expect(report.layers.allSatisfy { $0.weightError > 0 })
    }

    @Test func singleLayerSensitivityEqualsTheFullModelWhenOnlyOneLayerIsQuantized() throws {
        let (modelPath, text, _) = try QuantizeSaveLoadTests.fixture()
        var recipe = try QuantRecipe.preset("w8a8-int8-static")
        recipe.calibration = .init(file: text, samples: 2, sequenceLength: 16, seed: 0)
        recipe.exclude = ["lm_head", "*.mlp.*", "*.q_proj", "*.k_proj", "*.v_proj", "model.layers.0.*"]
        let loaded = try ModelLoader.load(modelPath)
        let quantized = try ModelQuantization.run(loaded, recipe: recipe)
        let report = try QuantizationDebugger.analyze(
            reference: loaded, quantized: quantized, tokens: Self.tokens, inputSource: "t"
        ).report
        let layer = try #require(report.layers.only)
        #expect(layer.name == "model.layers.1.self_attn.o_proj")
        #expect(abs(try #require(layer.measuredKL) - report.outputKL) <= 1e-9 * max(1, report.outputKL))
    }

    @Test func folderHoldsReportStatisticsAndPlots() throws {
        let (loaded, quantized, directory) = try Self.quantized()
        let input = directory + "/input.txt"
        try "the theme in the text, then the other thing.".write(toFile: input, atomically: true, encoding: .utf8)
        let out = directory + "/debug"
        let report = try DebugCommand.run(
            reference: loaded, quantized: quantized, options: .init(inputFile: input, tokenCount: 20, outputDirectory: out))
        let files = try FileManager.default.contentsOfDirectory(atPath: out)
        #expect(Set(files) == ["index.html", "summary.json", "layers", "plots"])
        let layerFiles = try FileManager.default.contentsOfDirectory(atPath: out + "/layers")
        #expect(layerFiles.filter { $0.hasSuffix(".weight_stats.json") }.count == 14)
        let stats =
            try JSONSerialization.jsonObject(
                with: Data(
                    contentsOf: URL(fileURLWithPath: out + "/layers/model.layers.1.mlp.down_proj.weight_stats.json")))
            as? [String: Any]
        for key in [
            "min", "max", "mean", "std", "abs_max", "kurtosis", "outlier_share", "channel_min", "channel_max",
            "quant_mse",
            "quant_relative_error", "quant_sqnr_db",
        ] {
            #expect(stats?[key] != nil, "weight_stats.json lacks \(key)")
        }
        let plots = try FileManager.default.contentsOfDirectory(atPath: out + "/plots")
        #expect(plots.filter { $0.hasSuffix(".act_hist.svg") }.count == 14)
        #expect(plots.contains("summary_ref-output-error.svg"))
        #expect(report.inputSource == input)
        // Writing again without overwrite fails and leaves the folder alone; no temporary folder is left.
        #expect(throws: QuantizationError.outputExists(path: out)) {
            try DebugReportFolder.write(
                .init(report: report, weights: [:], weightHistograms: [:], activations: [:]), to: out)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.contains(".quanta-tmp-") }.isEmpty)
    }

    @Test func tooShortInputIsAnError() throws {
        let (loaded, quantized, _) = try Self.quantized()
        #expect(throws: PipelineError.self) {
            try QuantizationDebugger.analyze(reference: loaded, quantized: quantized, tokens: [5], inputSource: "t")
        }
    }
}

extension Array {
    /// The single element, nil unless there is exactly one.
    var only: Element? { count == 1 ? first : nil }
}
