import Foundation
import Pipeline
import QuantCore
import Quantization
import TestSupport
import Testing

/// The debugger on the default model: the time bound for one 512-token batch, and the structure of what it
/// finds. Needs the model (scripts/fetch-models.sh) and ../shared/data.
@Suite(
    .enabled(
        if: RealData.exists(RealData.smolLM2, RealData.wikiTest, RealData.wikiValid), "SmolLM2 or wikitext-2 not found")
)
struct SmolLM2DebuggerTests {
    /// The bound for analysing the whole model on 512 tokens (2 cores).
    static let analysisSecondsLimit = 60.0

    @Test func wholeModelAnalysisOfOneBatchTakesUnderAMinute() throws {
        let loaded = try ModelLoader.load(RealData.smolLM2)
        var recipe = try QuantRecipe.preset("w8a8-int8-static")
        recipe.calibration = .init(file: RealData.wikiValid, samples: 4, sequenceLength: 512, seed: 0)
        let quantized = try ModelQuantization.run(loaded, recipe: recipe)
        let tokens = Array(try loaded.requireTokenizer().encode(try TextFile.read(RealData.wikiTest)).prefix(512))
        let result = try QuantizationDebugger.analyze(
            reference: loaded, quantized: quantized, tokens: tokens, inputSource: RealData.wikiTest,
            configuration: .init(activationHistograms: true, measureSensitivity: false))
        let report = result.report
        #expect(report.analysisSeconds < Self.analysisSecondsLimit, "analysis took \(report.analysisSeconds) s")
        #expect(report.layers.count == 210)  // 30 blocks × 7 linears; the tied LM head is excluded
        #expect(report.inputTokens == 512)
        #expect(report.outputKL > 0 && report.outputKL.isFinite)
        #expect(report.layers[0].referenceInputError == 0)
        #expect(report.layers.allSatisfy { $0.ioError > 0 && $0.weightError > 0 && $0.rangeParameter > 0 })
        // The widest input (the one a per-tensor grid handles worst) feeds a down_proj: SwiGLU outputs carry the
        // massive activations.
        let widest = try #require(report.layers.max { $0.rangeParameter < $1.rangeParameter })
        #expect(widest.name.hasSuffix("mlp.down_proj"), "widest input: \(widest.name)")
        #expect(result.activations[widest.name]?.histograms != nil)
    }
}
