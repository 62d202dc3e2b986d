import Foundation
import Inference
import TensorCore
import Testing
import TestSupport

/// Float32 engine vs. the double-precision reference: errors come from float rounding only.
let forwardTolerance: Float = 2e-4

@Suite struct LlamaForwardTests {
    @Test(arguments: [1, 2, 7, 33, 70])
    func prefillMatchesReference(tokenCount: Int) throws {
        for tied in [false, true] {
            let model = TinyLlama.model(tied: tied)
            let tokens = (0..<tokenCount).map { ($0 * 37 + 5) % 64 }
            let logits = try model.logits(for: tokens)
            let expected = ReferenceLlama.logits(model, tokens: tokens).flatMap { $0.map(Float.init) }
            let difference = Tolerance.maxAbsDifference(logits.scalars, expected)
            #expect(difference < forwardTolerance, "max |fast − reference| = \(difference) (tied: \(tied))")
        }
    }

    @Test func decodeWithCacheMatchesPrefill() throws {
        let model = TinyLlama.model()
        let tokens = (0..<20).map { ($0 * 11 + 3) % 64 }
        let full = try model.logits(for: tokens)
        var cache = model.makeCache(capacity: 2)  // forces the cache to grow
        var rows: [Float] = try model.forward(tokens: Array(tokens[0..<9]), cache: &cache).scalars
        for token in tokens[9...] {
            rows += try model.forward(tokens: [token], cache: &cache, logits: .last).scalars
        }
        #expect(cache.count == tokens.count)
        let difference = Tolerance.maxAbsDifference(full.scalars, rows)
        #expect(difference < forwardTolerance, "prefill vs. prefill+decode differ by \(difference)")
    }

    @Test func laterTokensDoNotChangeEarlierLogits() throws {
        let model = TinyLlama.model()
        let a = try model.logits(for: [1, 2, 3, 4, 5])
        let b = try model.logits(for: [1, 2, 3, 60, 61])
        let prefix = 3 * model.vocabularySize
        #expect(Array(a.scalars[..<prefix]) == Array(b.scalars[..<prefix]))
        #expect(Array(a.scalars[prefix...]) != Array(b.scalars[prefix...]))
    }

    @Test func rejectsBadInput() throws {
        let model = TinyLlama.model()
        #expect(throws: ModelError.invalidInput("no tokens to run")) { try model.logits(for: []) }
        #expect(throws: ModelError.invalidInput("token id 64 outside the vocabulary 0..<64")) { try model.logits(for: [64]) }
        #expect(throws: ModelError.invalidInput("257 positions exceed the model's context of 256")) {
            try model.logits(for: [Int](repeating: 1, count: 257))
        }
    }

    @Test func missingOrMisshapenWeightsAreNamed() throws {
        let c = TinyLlama.configuration()
        var tensors = TinyLlama.tensors(c)
        tensors["model.layers.1.mlp.up_proj.weight"] = nil
        #expect(throws: ModelError.missingWeight("model.layers.1.mlp.up_proj.weight")) {
            try LlamaModel(configuration: c, tensors: tensors)
        }
        tensors = TinyLlama.tensors(c)
        tensors["model.norm.weight"] = Tensor(shape: [31])
        #expect(throws: ModelError.shapeMismatch(name: "model.norm.weight", expected: [32], found: [31])) {
            try LlamaModel(configuration: c, tensors: tensors)
        }
        tensors = TinyLlama.tensors(c)
        tensors["model.layers.0.self_attn.q_proj.weight"]!.scalars[5] = .nan
        #expect(throws: ModelError.nonFiniteWeight("model.layers.0.self_attn.q_proj.weight")) {
            try LlamaModel(configuration: c, tensors: tensors)
        }
        tensors = TinyLlama.tensors(c)
        tensors["model.layers.9.extra.weight"] = Tensor(shape: [1])
        #expect(throws: ModelError.unexpectedWeight("model.layers.9.extra.weight")) {
            try LlamaModel(configuration: c, tensors: tensors)
        }
    }
}

@Suite struct ActivationTests {
    @Test func fastExpIsAccurate() {
        var worst: Float = 0
        for i in stride(from: -87.0 as Float, through: 88, by: 0.0137) {
            let relative = abs(Activation.exp(i) - Foundation.exp(i)) / Foundation.exp(i)
            worst = max(worst, relative)
        }
        #expect(worst < 1e-6, "worst relative error \(worst)")
        #expect(Activation.exp(-200) == 0)
    }

    @Test(arguments: [1, 15, 16, 17, 100])
    func softmaxSumsToOneAndReturnsLogPartition(count: Int) {
        var values = Fixtures.uniform(count: count, seed: 3, scale: 20)
        let expectedLogZ = log(values.map { Foundation.exp(Double($0)) }.reduce(0, +))
        let logZ = values.withUnsafeMutableBufferPointer { Activation.softmax($0.baseAddress!, count: count) }
        #expect(abs(Double(logZ) - expectedLogZ) < 1e-4)
        #expect(abs(values.reduce(0, +) - 1) < 1e-5)
    }

    @Test func greedySamplerPicksArgmaxAndSeededSamplingRepeats() throws {
        let logits: [Float] = [0.1, 3, -1, 2.9]
        var greedy = Sampler(configuration: try .init())
        #expect(greedy.next(logits[...]) == 1)
        let settings = try Sampler.Configuration(temperature: 1, topK: 3, topP: 1, seed: 42)
        var a = Sampler(configuration: settings), b = Sampler(configuration: settings)
        let drawsA = (0..<50).map { _ in a.next(logits[...]) }
        let drawsB = (0..<50).map { _ in b.next(logits[...]) }
        #expect(drawsA == drawsB)
        #expect(!drawsA.contains(2), "top-k 3 must exclude the lowest logit")
        #expect(Set(drawsA).count > 1)
    }
}
