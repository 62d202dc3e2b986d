import Analysis
import Foundation
import Inference
import Pipeline
import QuantAlgorithms
import Quantization
import TestSupport
import Testing

/// Rotation on the default model (hidden 576 = 36·16, intermediate 1536 = 12·128): the float function is unchanged.
/// Needs the model (scripts/fetch-models.sh) and ../shared/data; run in release mode.
@Suite(
    .enabled(if: RealData.exists(RealData.smolLM2, RealData.wikiTest), "SmolLM2 or wikitext-2 not found"), .serialized)
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
        print(
            "SmolLM2 rotation: perplexity \(before.perplexity) → \(after.perplexity) (relative \(relative)), "
                + "KL \(after.klDivergence ?? -1), top-1 agreement \(after.top1Agreement ?? -1)")
        #expect(relative < Self.perplexityRelativeTolerance)
        #expect((after.top1Agreement ?? 0) > 0.999)
        let window = Array(tokens[0..<128])
        let a = try loaded.model.logits(for: window), b = try rotated.logits(for: window)
        let logitError = Tolerance.maxAbsDifference(a.scalars, b.scalars) / a.scalars.map(abs).max()!
        print("SmolLM2 rotation: max relative logit error \(logitError)")
        #expect(logitError < Self.logitRelativeTolerance)
    }

    /// Prints prefill and decode times of the float and the rotated model (the online Hadamard's cost); no bound,
    /// since the machines are shared.
    @Test func onlineTransformCost() throws {
        let loaded = try ModelLoader.load(RealData.smolLM2)
        var rotated = loaded.model
        let start = Date()
        _ = try Rotation().apply(to: &rotated)
        print(String(format: "SmolLM2 rotation: apply took %.2f s", Date().timeIntervalSince(start)))
        let prompt = (0..<256).map { ($0 * 7919 + 13) % 49_152 }
        func time(_ model: LlamaModel) throws -> (prefill: Double, decode: Double) {
            var prefill: [Double] = [], decode: [Double] = []
            for _ in 0..<3 {
                var cache = model.makeCache(capacity: 320)
                var t = Date()
                _ = try model.forward(tokens: prompt, cache: &cache, logits: .last)
                prefill.append(Date().timeIntervalSince(t))
                t = Date()
                for token in prompt.prefix(32) { _ = try model.forward(tokens: [token], cache: &cache, logits: .last) }
                decode.append(Date().timeIntervalSince(t) / 32)
            }
            return (prefill.sorted()[1], decode.sorted()[1])
        }
        for _ in 0..<2 {
            let float = try time(loaded.model), turned = try time(rotated)
            print(
                String(
                    format: "SmolLM2 rotation timing (median of 3): prefill 256 tokens %.3f s float, %.3f s rotated; "
                        + "decode %.2f ms/token float, %.2f ms/token rotated",
                    float.prefill, turned.prefill, float.decode * 1000, turned.decode * 1000))
        }
    }
}
