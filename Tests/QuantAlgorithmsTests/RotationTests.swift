import Foundation
import Inference
import QuantAlgorithms
import QuantCore
import TensorCore
import Testing
import TestSupport

/// Rotation is exact in real arithmetic; float32 rounding through two blocks stays far below this (relative to the
/// largest logit).
let rotationRelativeTolerance: Float = 1e-4

@Suite struct RotationTests {
    /// hidden 48 = 12·4 (Paley I base) with intermediate 96 = 12·8, or hidden 32 = 2⁵ with intermediate 48 = 12·4.
    static func model(tied: Bool, hidden: Int = 48, seed: UInt64 = 1) throws -> LlamaModel {
        let c = try LlamaConfiguration(
            hiddenSize: hidden, intermediateSize: hidden == 32 ? 48 : 96, layerCount: 2, attentionHeadCount: 4,
            keyValueHeadCount: 2, vocabularySize: 64, rmsNormEpsilon: 1e-5, maxPositionEmbeddings: 256,
            tieWordEmbeddings: tied)
        return try LlamaModel(configuration: c, tensors: TinyLlama.tensors(c, seed: seed))
    }

    static func relativeError(_ a: Tensor, _ b: Tensor) -> Float {
        Tolerance.maxAbsDifference(a.scalars, b.scalars) / a.scalars.map(abs).max()!
    }

    static let tokens = (0..<23).map { ($0 * 29 + 3) % 64 }

    @Test(arguments: [(false, 48), (true, 48), (false, 32), (true, 32)])
    func rotatedModelKeepsPrefillLogits(tied: Bool, hidden: Int) throws {
        let original = try Self.model(tied: tied, hidden: hidden)
        var rotated = original
        let report = try Rotation(.init(seed: 9)).apply(to: &rotated)
        let before = try original.logits(for: Self.tokens)
        let after = try rotated.logits(for: Self.tokens)
        let error = Self.relativeError(before, after)
        #expect(error < rotationRelativeTolerance, "relative logit error \(error) (tied \(tied), hidden \(hidden))")
        // It is not the identity: weights and the embedding changed.
        #expect(rotated.embedding != original.embedding)
        #expect(rotated.blocks[0].queryProjection.weight != original.blocks[0].queryProjection.weight)
        #expect(report.untiedLMHead == tied)
        #expect(!rotated.configuration.tieWordEmbeddings)
        #expect(
            report.hiddenSize == hidden && report.seed == 9 && report.foldedNorms == 5 && report.rotatedLinears == 15)
        #expect(report.onlineTransformLayers == ["model.layers.0.mlp.down_proj", "model.layers.1.mlp.down_proj"])
        #expect(report.valueHeadSize == original.configuration.headDimension)
        #expect(
            rotated.blocks.allSatisfy {
                $0.inputNorm.scalars.allSatisfy { $0 == 1 } && $0.postAttentionNorm.scalars.allSatisfy { $0 == 1 }
            })
        #expect(rotated.finalNorm.scalars.allSatisfy { $0 == 1 })
        #expect(
            rotated.blocks.allSatisfy {
                $0.downProjection.inputTransform?.dimension == original.configuration.intermediateSize
            })
    }

    @Test(arguments: [false, true])
    func rotatedModelKeepsDecodeLogits(tied: Bool) throws {
        let original = try Self.model(tied: tied)
        var rotated = original
        _ = try Rotation().apply(to: &rotated)
        let full = try original.logits(for: Self.tokens)
        var cache = rotated.makeCache(capacity: 4)
        var rows = try rotated.forward(tokens: Array(Self.tokens[0..<5]), cache: &cache).scalars
        for token in Self.tokens[5...] {
            rows += try rotated.forward(tokens: [token], cache: &cache, logits: .last).scalars
        }
        let error = Self.relativeError(full, Tensor(shape: full.shape, scalars: rows))
        #expect(error < rotationRelativeTolerance, "decode relative logit error \(error)")
    }

    @Test func withoutOnlineTransformNoLayerRotatesAtRunTime() throws {
        let original = try Self.model(tied: false)
        var rotated = original
        let report = try Rotation(.init(seed: 2, onlineDownProjection: false)).apply(to: &rotated)
        #expect(report.onlineSize == nil && report.onlineTransformLayers.isEmpty)
        #expect(rotated.linearLayers.allSatisfy { $0.inputTransform == nil })
        let error = Self.relativeError(try original.logits(for: Self.tokens), try rotated.logits(for: Self.tokens))
        #expect(error < rotationRelativeTolerance)
    }

    @Test func hooksSeeTheRotatedDownProjectionInput() throws {
        let original = try Self.model(tied: false)
        var rotated = original
        _ = try Rotation(.init(seed: 4)).apply(to: &rotated)
        let before = LinearInputRecorder(), after = LinearInputRecorder()
        var cache = original.makeCache()
        let plain = try original.forward(tokens: Self.tokens, cache: &cache, hooks: before)
        cache = rotated.makeCache()
        let hooked = try rotated.forward(tokens: Self.tokens, cache: &cache, hooks: after)
        let unhooked = try rotated.logits(for: Self.tokens)
        #expect(Tolerance.maxAbsDifference(hooked.scalars, unhooked.scalars) == 0)
        #expect(Self.relativeError(plain, hooked) < rotationRelativeTolerance)
        // The intermediate activations are the same before the online transform; the hook sees them times H.
        let name = "model.layers.1.mlp.down_proj"
        let h = try #require(rotated.blocks[1].downProjection.inputTransform)
        var expected = Tensor(shape: [Self.tokens.count, h.dimension], scalars: try #require(before.inputs[name]))
        h.apply(to: &expected)
        let seen = try #require(after.inputs[name])
        let difference = Tolerance.maxAbsDifference(seen, expected.scalars)
        #expect(difference < 1e-4 * expected.scalars.map(abs).max()!, "hooked down_proj input vs u·H: \(difference)")
    }

    static func peakToRMS(_ values: [Float], width: Int) -> Float {
        // Mean over rows of max|x| / rms(x).
        let rows = values.count / width
        var total: Float = 0
        for r in 0..<rows {
            let row = values[(r * width)..<((r + 1) * width)]
            let rms = (row.reduce(0) { $0 + $1 * $1 } / Float(width)).squareRoot()
            total += row.map(abs).max()! / rms
        }
        return total / Float(rows)
    }

    @Test func rotationSpreadsOutlierChannels() throws {
        // An outlier channel in the residual stream (embedding column 5) and in the MLP (up_proj row 7).
        let c = try LlamaConfiguration(
            hiddenSize: 48, intermediateSize: 96, layerCount: 2, attentionHeadCount: 4, keyValueHeadCount: 2,
            vocabularySize: 64, maxPositionEmbeddings: 256)
        var tensors = TinyLlama.tensors(c, seed: 3)
        for row in 0..<64 { tensors["model.embed_tokens.weight"]!.scalars[row * 48 + 5] *= 40 }
        for layer in 0..<2 {
            for column in 0..<48 { tensors["model.layers.\(layer).mlp.up_proj.weight"]!.scalars[7 * 48 + column] *= 40 }
        }
        let original = try LlamaModel(configuration: c, tensors: tensors)
        var rotated = original
        _ = try Rotation(.init(seed: 1)).apply(to: &rotated)
        let before = LinearInputRecorder(), after = LinearInputRecorder()
        var cache = original.makeCache()
        _ = try original.forward(tokens: Self.tokens, cache: &cache, hooks: before)
        cache = rotated.makeCache()
        _ = try rotated.forward(tokens: Self.tokens, cache: &cache, hooks: after)
        // (layer, width, required improvement): the final norm's input has the weakest outlier left by then.
        for (layer, width, factor) in [
            ("model.layers.1.self_attn.q_proj", 48, Float(2)), ("model.layers.1.mlp.down_proj", 96, 2),
            ("lm_head", 48, 1.5),
        ] {
            let ratioBefore = Self.peakToRMS(before.inputs[layer]!, width: width)
            let ratioAfter = Self.peakToRMS(after.inputs[layer]!, width: width)
            print("\(layer): max/RMS \(ratioBefore) before rotation, \(ratioAfter) after")
            #expect(ratioAfter < ratioBefore / factor, "\(layer): max/RMS \(ratioBefore) before, \(ratioAfter) after")
        }
    }

    @Test func rotatingTwiceIsRefused() throws {
        var model = try Self.model(tied: false)
        _ = try Rotation().apply(to: &model)
        #expect(throws: QuantError.self) { _ = try Rotation().apply(to: &model) }
    }

    @Test func unsupportedHiddenSizeIsAnError() throws {
        // 52 = 4·13: neither 51 nor 25 is a prime, so no Paley construction.
        let bad = try LlamaConfiguration(
            hiddenSize: 52, intermediateSize: 96, layerCount: 1, attentionHeadCount: 4, keyValueHeadCount: 2,
            headDimension: 12, vocabularySize: 64, maxPositionEmbeddings: 64)
        var model = try LlamaModel(configuration: bad, tensors: TinyLlama.tensors(bad, seed: 1))
        let expected = QuantError.invalidConfiguration(
            field: "rotation", reason: "hidden_size 52: \(HadamardError.unsupportedDimension(52))")
        #expect(throws: expected) { _ = try Rotation().apply(to: &model) }
    }

    @Test func configurationDecodesWithDefaults() throws {
        let decoder = JSONDecoder()
        #expect(try decoder.decode(Rotation.Configuration.self, from: Data("{}".utf8)) == .init())
        let custom = try decoder.decode(
            Rotation.Configuration.self, from: Data(#"{"seed": 5, "online_down_projection": false}"#.utf8))
        #expect(custom == .init(seed: 5, onlineDownProjection: false))
        let values = try decoder.decode(Rotation.Configuration.self, from: Data(#"{"rotate_values": false}"#.utf8))
        #expect(values == .init(rotateValues: false))
    }

    /// Per-head value rotation alone (no residual or online rotation changes o_proj's input otherwise): o_proj sees
    /// each head's attention output times P, the model's logits stay, and a value outlier channel is spread.
    @Test(arguments: [48, 32])
    func valueHeadsAreRotatedAndOutputProjectionUndoesIt(hidden: Int) throws {
        let c = try LlamaConfiguration(
            hiddenSize: hidden, intermediateSize: hidden == 32 ? 48 : 96, layerCount: 2, attentionHeadCount: 4,
            keyValueHeadCount: 2, vocabularySize: 64, maxPositionEmbeddings: 256)
        var tensors = TinyLlama.tensors(c, seed: 5)
        let d = c.headDimension
        // Value channel 3 of each KV head is an outlier.
        for layer in 0..<2 {
            for head in 0..<2 {
                for column in 0..<hidden {
                    tensors["model.layers.\(layer).self_attn.v_proj.weight"]!.scalars[(head * d + 3) * hidden + column] *= 30
                }
            }
        }
        let original = try LlamaModel(configuration: c, tensors: tensors)
        var withValues = original, without = original
        let report = try Rotation(.init(seed: 3)).apply(to: &withValues)
        _ = try Rotation(.init(seed: 3, rotateValues: false)).apply(to: &without)
        #expect(report.valueHeadSize == d)
        #expect(Self.relativeError(try original.logits(for: Self.tokens), try withValues.logits(for: Self.tokens)) < rotationRelativeTolerance)
        let a = LinearInputRecorder(), b = LinearInputRecorder()
        var cache = withValues.makeCache()
        _ = try withValues.forward(tokens: Self.tokens, cache: &cache, hooks: a)
        cache = without.makeCache()
        _ = try without.forward(tokens: Self.tokens, cache: &cache, hooks: b)
        let name = "model.layers.1.self_attn.o_proj"
        let p = try HadamardTransform(dimension: d, seed: 3 &+ 2)
        var expected = Tensor(shape: [Self.tokens.count * c.attentionHeadCount, d], scalars: try #require(b.inputs[name]))
        p.apply(to: &expected)
        let seen = try #require(a.inputs[name])
        #expect(Tolerance.maxAbsDifference(seen, expected.scalars) < 1e-4 * expected.scalars.map(abs).max()!)
        let before = Self.peakToRMS(try #require(b.inputs[name]), width: d)
        let after = Self.peakToRMS(seen, width: d)
        #expect(after < before / 1.5, "o_proj input max/RMS per head \(before) without, \(after) with value rotation")
    }
}
