import TensorCore

extension LlamaModel {
    /// The residual stream entering each block for a prefill of `tokens` from an empty cache: `[blockCount]` arrays of
    /// `[T, hiddenSize]`. With `forward(blockInput:fromBlock:logits:hooks:)` a caller that changes only block `k`
    /// (one quantized layer) reruns blocks `k...` alone: what enters block `k` is the same as before.
    /// - Throws: `ModelError.invalidInput` as `forward(tokens:cache:logits:hooks:)` does.
    public func blockInputs(tokens: [Int]) throws(ModelError) -> [[Float]] {
        let c = configuration
        try checkTokens(tokens)
        guard tokens.count <= c.maxPositionEmbeddings else {
            throw .invalidInput("\(tokens.count) positions exceed the model's context of \(c.maxPositionEmbeddings)")
        }
        var cache = makeCache(capacity: tokens.count)
        cache.reserve(tokens.count)
        var x = embedRows(tokens)
        var scratch = ForwardScratch(configuration: c, tokenCount: tokens.count, past: 0)
        var inputs: [[Float]] = []
        inputs.reserveCapacity(blocks.count)
        for layer in blocks.indices {
            inputs.append(x)
            try runBlock(layer, cacheSlot: layer, x: &x, cache: &cache, scratch: &scratch, hooks: nil)
        }
        return inputs
    }

    /// Runs blocks `start...` and the head on `blockInput: [T, hiddenSize]`, the stream entering block `start` of a
    /// prefill from position 0 (as `blockInputs(tokens:)` returns it). The result equals the full forward pass when
    /// blocks before `start` are unchanged.
    public func forward(
        blockInput: [Float], fromBlock start: Int, logits selection: LogitsSelection = .all,
        hooks: (any ForwardHooks)? = nil
    ) throws(ModelError) -> Tensor {
        let c = configuration
        let T = try checkHiddenStates(blockInput, enteringBlock: start)
        var cache = makeCache(capacity: T)
        cache.reserve(T)
        var x = blockInput
        var scratch = ForwardScratch(configuration: c, tokenCount: T, past: 0)
        for layer in start..<blocks.count {
            try runBlock(layer, cacheSlot: layer, x: &x, cache: &cache, scratch: &scratch, hooks: hooks)
        }
        cache.commit(T)
        return try finalLogits(x, tokenCount: T, selection: selection, hooks: hooks)
    }
}
