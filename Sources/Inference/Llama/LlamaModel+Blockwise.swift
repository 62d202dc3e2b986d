import TensorCore

extension LlamaModel {
    /// The embedding rows of `tokens`: the hidden states entering block 0, `[tokens.count, hiddenSize]` row-major.
    /// - Throws: `ModelError.invalidInput` for an empty input or a token id outside the vocabulary.
    public func embed(_ tokens: [Int]) throws(ModelError) -> [Float] {
        try checkTokens(tokens)
        return embedRows(tokens)
    }

    /// The input checks every token-driven entry point shares: not empty, every id inside the vocabulary.
    func checkTokens(_ tokens: [Int]) throws(ModelError) {
        guard !tokens.isEmpty else { throw .invalidInput("no tokens to run") }
        if let bad = tokens.first(where: { $0 < 0 || $0 >= configuration.vocabularySize }) {
            throw .invalidInput("token id \(bad) outside the vocabulary 0..<\(configuration.vocabularySize)")
        }
    }

    /// The checks every hidden-state entry point shares: `block` exists, `x` is whole rows of `hiddenSize`, and
    /// their count fits the context.
    /// - Returns: the number of rows (positions).
    func checkHiddenStates(_ x: [Float], enteringBlock block: Int) throws(ModelError) -> Int {
        let c = configuration
        guard blocks.indices.contains(block) else { throw .invalidInput("block \(block) outside 0..<\(blocks.count)") }
        guard !x.isEmpty, x.count % c.hiddenSize == 0 else {
            throw .invalidInput("\(x.count) hidden-state values are not whole rows of \(c.hiddenSize)")
        }
        let T = x.count / c.hiddenSize
        guard T <= c.maxPositionEmbeddings else {
            throw .invalidInput("\(T) positions exceed the model's context of \(c.maxPositionEmbeddings)")
        }
        return T
    }

    /// Runs block `layer` alone on one sequence of hidden states `x: [T, hiddenSize]` (positions 0..<T, causal), in
    /// place. Layer-wise algorithms use it to push calibration data through one block at a time.
    /// - Throws: `ModelError.invalidInput` for a bad layer index, a length that is not a whole number of rows, or a
    ///   sequence longer than the model's context.
    public func forwardBlock(_ layer: Int, hiddenStates x: inout [Float], hooks: (any ForwardHooks)? = nil) throws(ModelError) {
        let c = configuration
        let T = try checkHiddenStates(x, enteringBlock: layer)
        var cache = KVCache(layerCount: 1, width: c.keyValueWidth, capacity: T)
        cache.reserve(T)
        var scratch = ForwardScratch(configuration: c, tokenCount: T, past: 0)
        try runBlock(layer, cacheSlot: 0, x: &x, cache: &cache, scratch: &scratch, hooks: hooks)
    }
}
