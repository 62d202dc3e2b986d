import Inference
import TensorCore
import Testing
import TestSupport

@Suite struct BlockInputsTests {
    @Test(arguments: [1, 13])
    func forwardFromAnyBlockEqualsTheFullPass(tokenCount: Int) throws {
        let model = TinyLlama.model()
        let tokens = (0..<tokenCount).map { ($0 * 29 + 3) % 64 }
        let full = try model.logits(for: tokens)
        let inputs = try model.blockInputs(tokens: tokens)
        #expect(inputs.count == model.blocks.count)
        #expect(inputs[0].count == tokenCount * model.configuration.hiddenSize)
        for block in model.blocks.indices {
            let partial = try model.forward(blockInput: inputs[block], fromBlock: block)
            // Same kernels, same order: bit-identical.
            #expect(partial.scalars == full.scalars, "starting at block \(block)")
        }
    }

    @Test func badStartsAreErrors() throws {
        let model = TinyLlama.model()
        let input = try model.blockInputs(tokens: [1, 2, 3])[0]
        #expect(throws: ModelError.self) { try model.forward(blockInput: input, fromBlock: model.blocks.count) }
        #expect(throws: ModelError.self) { try model.forward(blockInput: Array(input.dropLast()), fromBlock: 0) }
        #expect(throws: ModelError.self) { try model.blockInputs(tokens: [64]) }
    }
}
