import Inference
import QuantCore
import Testing
import TestSupport

/// Decoding several sequences together computes what decoding each alone computes.
struct BatchedDecodeTests {
    /// Each sequence's logits from a batched step equal those of its own forward pass, after prompts of several
    /// lengths (each length group decodes separately), within float summation-order tolerance.
    @Test func batchedStepEqualsOneForwardPerSequence() throws {
        let model = TinyLlama.model()
        let vocabulary = model.configuration.vocabularySize
        let prompts = [[3, 7, 1], [5, 2, 9], [11, 4, 4], [1, 1, 2]]
        var caches = try prompts.map { prompt in
            var cache = model.makeCache(capacity: 8)
            _ = try model.forward(tokens: prompt, cache: &cache, logits: .last)
            return cache
        }
        let next = [2, 6, 0, vocabulary - 1]
        var alone: [[Float]] = []
        for (prompt, token) in zip(prompts, next) {
            var cache = model.makeCache(capacity: 8)
            _ = try model.forward(tokens: prompt, cache: &cache, logits: .none)
            alone.append(try model.forward(tokens: [token], cache: &cache, logits: .last).scalars)
        }
        for step in 0..<3 {
            let batched = try model.decode(step == 0 ? next : [1, 2, 3, 4], caches: &caches)
            #expect(batched.shape == [prompts.count, vocabulary])
            #expect(caches.allSatisfy { $0.count == 4 + step })
            if step == 0 {
                for row in prompts.indices {
                    let got = Array(batched.scalars[(row * vocabulary)..<((row + 1) * vocabulary)])
                    let worst = zip(got, alone[row]).map { abs($0 - $1) }.max()!
                    #expect(worst < 1e-4, "sequence \(row): max |Δ logit| \(worst)")
                }
            }
        }
    }

    @Test func greedyBatchGenerationMatchesOneByOne() throws {
        let model = TinyLlama.model(seed: 3)
        let greedy = try Sampler.Configuration(temperature: 0)
        let generation = Generation(configuration: try .init(maximumNewTokens: 12, sampler: greedy, stopTokenIDs: []))
        let prompts = [[1], [4], [9], [2], [7]]
        var steps = 0
        let batched = try generation.run(model, prompts: prompts, samplers: Array(repeating: greedy, count: prompts.count)) { done, total in
            steps = done
            #expect(total == 12)
        }
        #expect(steps == 12)
        for (prompt, tokens) in zip(prompts, batched) {
            #expect(tokens == (try generation.run(model, prompt: prompt).tokens))
        }
    }

    @Test func stopTokensEndSequencesSeparately() throws {
        let model = TinyLlama.model(seed: 3)
        let greedy = try Sampler.Configuration(temperature: 0)
        let prompts = [[1], [4], [9]]
        let free = try Generation(configuration: .init(maximumNewTokens: 10, sampler: greedy, stopTokenIDs: []))
            .run(model, prompts: prompts, samplers: Array(repeating: greedy, count: 3))
        // Stop at the token the first sequence emits third: it ends there, the others run on until they meet it.
        let stop = free[0][2]
        let stopped = try Generation(configuration: .init(maximumNewTokens: 10, sampler: greedy, stopTokenIDs: [stop]))
            .run(model, prompts: prompts, samplers: Array(repeating: greedy, count: 3))
        for (all, cut) in zip(free, stopped) {
            let expected = Array(all.prefix { $0 != stop })
            #expect(cut == expected)
        }
        #expect(stopped[0].count == free[0].firstIndex(of: stop)!)
    }

    @Test func quantizedActivationsDecodeOneByOne() throws {
        var model = TinyLlama.model()
        #expect(model.decodesInBatches)
        model.blocks[0].keyQuantizer = ActivationQuantizer(scheme: try QuantScheme(dataType: .int8, granularity: .perToken, isDynamic: true))
        #expect(!model.decodesInBatches)
    }
}
