import Analysis
import Foundation
import Inference
import Pipeline
import QuantAlgorithms
import Testing
import TestSupport

/// Rotation on the default model (hidden 576 = 36·16, intermediate 1536 = 12·128): the float function is unchanged.
/// Needs the model (scripts/fetch-models.sh) and ../shared/data; run in release mode.
@Suite(.enabled(if: RealData.exists(RealData.smolLM2, RealData.wikiTest), "SmolLM2 or wikitext-2 not found"), .serialized)
struct SmolLM2RotationTests {
    /// Equivalence in float32: perplexity and logits agree far below any quantization effect.
    static let perplexityRelativeTolerance = 1e-4
    static let logitRelativeTolerance: Float = 1e-4

    @Test func rotatedModelKeepsPerplexityAndLogits() throws {
        let loaded = try ModelLoader.load(RealData.smolLM2)
        let tokens = try loaded.requireTokenizer().encode(try TextFile.read(RealData.wikiTest))
        var rotated = loaded.model
        let report = try Rotation(.init(seed: 0)).apply(to: &rotated)
        #expect(report.hiddenBaseSize == 36 && report.onlineBaseSize == 12 && report.untiedLMHead)
        print(report)
        let evaluation = PerplexityEvaluation(configuration: try .init(sequenceLength: 256, windowCount: 2))
        let before = try evaluation.evaluate(loaded.model, tokens: tokens)
        let after = try evaluation.evaluate(rotated, tokens: tokens, reference: loaded.model)
        let relative = abs(after.perplexity - before.perplexity) / before.perplexity
        print("SmolLM2 rotation: perplexity \(before.perplexity) → \(after.perplexity) (relative \(relative)), "
              + "KL \(after.klDivergence ?? -1), top-1 agreement \(after.top1Agreement ?? -1)")
        #expect(relative < Self.perplexityRelativeTolerance)
        #expect((after.top1Agreement ?? 0) > 0.999)
        let window = Array(tokens[0..<128])
        let a = try loaded.model.logits(for: window), b = try rotated.logits(for: window)
        let logitError = Tolerance.maxAbsDifference(a.scalars, b.scalars) / a.scalars.map(abs).max()!
        print("SmolLM2 rotation: max relative logit error \(logitError)")
        #expect(logitError < Self.logitRelativeTolerance)
    }
}
