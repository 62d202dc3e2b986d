import Testing
import TensorCore
import TestSupport
@testable import Inference

@Suite struct BlockwiseForwardTests {
    let tokens = [3, 17, 42, 5, 9, 63, 0, 28, 11]

    @Test func blocksRunOneAtATimeMatchTheWholeForwardPass() throws {
        let model = TinyLlama.model()
        let whole = LinearInputRecorder()
        var cache = model.makeCache()
        _ = try model.forward(tokens: tokens, cache: &cache, hooks: whole)
        var x = try model.embed(tokens)
        let pieces = LinearInputRecorder()
        for layer in model.blocks.indices { try model.forwardBlock(layer, hiddenStates: &x, hooks: pieces) }
        #expect(Set(whole.inputs.keys).subtracting(["lm_head"]) == Set(pieces.inputs.keys))
        for (name, values) in pieces.inputs {
            let difference = Tolerance.maxAbsDifference(values, whole.inputs[name]!)
            #expect(difference < 1e-5, "\(name): largest difference \(difference)")
        }
    }

    @Test func badBlockInputsAreRejected() throws {
        let model = TinyLlama.model()
        var x = [Float](repeating: 0, count: 31)
        #expect(throws: ModelError.invalidInput("31 hidden-state values are not whole rows of 32")) {
            try model.forwardBlock(0, hiddenStates: &x)
        }
        var y = [Float](repeating: 0, count: 32)
        #expect(throws: ModelError.invalidInput("block 2 outside 0..<2")) { try model.forwardBlock(2, hiddenStates: &y) }
        #expect(throws: ModelError.invalidInput("token id 64 outside the vocabulary 0..<64")) { _ = try model.embed([64]) }
    }

    @Test(arguments: [false, true])
    func movingScalesThroughEveryGroupLeavesLogitsUnchanged(tied: Bool) throws {
        let model = TinyLlama.model(tied: tied)
        var scaled = model
        var rng = SplitMix64(seed: 9)
        for index in scaled.blocks.indices {
            for group in model.scaleGroups {
                let scales = (0..<group.channelCount).map { _ in 0.25 + 4 * (Fixtures.uniform(&rng) + 1) / 2 }
                group.apply(scales, to: &scaled.blocks[index])
            }
        }
        #expect(scaled.blocks[0].inputNorm.scalars != model.blocks[0].inputNorm.scalars)
        let expected = try model.logits(for: tokens)
        let actual = try scaled.logits(for: tokens)
        let difference = Tolerance.maxAbsDifference(actual.scalars, expected.scalars)
        let magnitude = expected.scalars.map(abs).max()!
        #expect(difference / magnitude < 1e-5, "relative difference \(difference / magnitude)")
    }

    @Test func valueToOutputGroupRepeatsEachValueChannelOverItsQueryHeads() {
        let model = TinyLlama.model()  // 4 query heads over 2 KV heads of dimension 8
        let group = model.scaleGroups[1]
        #expect(group.channelCount == 16 && group.consumerWidth == 32)
        #expect(group.producerChannel(ofConsumerColumn: 3) == 3)
        #expect(group.producerChannel(ofConsumerColumn: 8 + 3) == 3)
        #expect(group.producerChannel(ofConsumerColumn: 16 + 5) == 8 + 5)
        #expect(group.producerChannel(ofConsumerColumn: 24 + 7) == 8 + 7)
    }
}
