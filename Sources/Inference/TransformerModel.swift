/// One block of a transformer as quantization sees it: its linear layers, reachable by key path.
public protocol TransformerBlock: Sendable {
    /// The block's linear layers in execution order.
    static var linearPaths: [WritableKeyPath<Self, Linear>] { get }
}

/// A stack of blocks between an embedding and a head: what the block-wise algorithms, calibration capture and the
/// debugger need from an architecture, so that none of them names a concrete model. Llama implements it; an encoder
/// (LayerNorm with bias, GELU MLP, bidirectional attention) implements it in the test support code.
public protocol TransformerModel: Sendable {
    associatedtype Block: TransformerBlock
    /// The blocks in execution order.
    var blocks: [Block] { get set }
    /// Where per-channel scales may move inside a block without changing its function (the same for every block).
    var scaleGroups: [ScaleGroup<Block>] { get }
    /// Width of the hidden states between blocks.
    var hiddenSize: Int { get }
    /// The hidden states entering block 0 for `tokens`: `[tokens.count, hiddenSize]` row-major.
    /// - Throws: `ModelError.invalidInput` for an empty input or a token outside the vocabulary.
    func embed(_ tokens: [Int]) throws(ModelError) -> [Float]
    /// Runs block `index` alone on one sequence `x: [T, hiddenSize]` in place.
    /// - Throws: `ModelError.invalidInput` for a bad index or length; `.activationQuantization` as layers throw it.
    func forwardBlock(_ index: Int, hiddenStates x: inout [Float], hooks: (any ForwardHooks)?) throws(ModelError)
    /// Linear layers outside the blocks (an LM head), in execution order.
    var outerLinears: [Linear] { get }
}

extension TransformerModel {
    /// Every linear layer in model order (blocks first, then the outer ones), with its Hugging Face name.
    public var linearLayers: [Linear] {
        blocks.flatMap { block in Block.linearPaths.map { block[keyPath: $0] } } + outerLinears
    }

    /// The block index of every block linear, by name.
    public var blockIndexByLinear: [String: Int] {
        var result: [String: Int] = [:]
        for (index, block) in blocks.enumerated() {
            for path in Block.linearPaths { result[block[keyPath: path].name] = index }
        }
        return result
    }
}
