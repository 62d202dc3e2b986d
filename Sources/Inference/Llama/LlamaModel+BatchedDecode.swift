import TensorCore

extension LlamaModel {
    /// Whether `decode(_:caches:)` computes what one `forward` per sequence would: no layer quantizes activations and
    /// no KV cache is quantized (a per-tensor dynamic scale, computed over a batch's rows, would mix sequences).
    public var decodesInBatches: Bool {
        !linearLayers.contains(where: \.quantizesActivations)
            && blocks.allSatisfy { $0.keyQuantizer == nil && $0.valueQuantizer == nil }
    }

    /// One decode step of several sequences together: `tokens[i]` continues the sequence whose keys and values are in
    /// `caches[i]`, and every cache holds the same number of positions. The linear layers run once on all rows (a
    /// matrix product instead of one matrix–vector product per sequence); each row attends to its own cache.
    /// Requires `decodesInBatches`.
    /// - Returns: logits `[tokens.count, vocabularySize]`, row i for sequence i.
    /// - Throws: `ModelError.invalidInput` for no tokens, a token outside the vocabulary, caches of different lengths
    ///   or another width, or a context overflow.
    public func decode(_ tokens: [Int], caches: inout [KVCache]) throws(ModelError) -> Tensor {
        precondition(decodesInBatches, "batched decoding needs a model without activation or KV quantizers")
        let c = configuration, N = tokens.count
        try checkTokens(tokens)
        guard caches.count == N else { throw .invalidInput("\(N) tokens for \(caches.count) KV caches") }
        let past = caches[0].count
        guard caches.allSatisfy({ $0.count == past && $0.width == c.keyValueWidth }) else {
            throw .invalidInput("batched decoding needs caches of one length and width \(c.keyValueWidth)")
        }
        guard past + 1 <= c.maxPositionEmbeddings else {
            throw .invalidInput("\(past + 1) positions exceed the model's context of \(c.maxPositionEmbeddings)")
        }
        for i in caches.indices { caches[i].reserve(1) }
        var x = embedRows(tokens)
        var scratch = ForwardScratch(configuration: c, tokenCount: N, past: past, positions: Array(repeating: past, count: N))
        for layer in blocks.indices {
            try runBlock(layer, x: &x, scratch: &scratch, hooks: nil) { s in
                for i in 0..<N {
                    let offset = past * c.keyValueWidth
                    caches[i].keys[layer].withUnsafeMutableBufferPointer {
                        ($0.baseAddress! + offset).update(from: s.key + i * c.keyValueWidth, count: c.keyValueWidth)
                    }
                    caches[i].values[layer].withUnsafeMutableBufferPointer {
                        ($0.baseAddress! + offset).update(from: s.value + i * c.keyValueWidth, count: c.keyValueWidth)
                    }
                }
                Self.attendOne(c, scratch: s, caches: caches, layer: layer, positions: past + 1)
            }
        }
        for i in caches.indices { caches[i].commit(1) }
        return try finalLogits(x, tokenCount: N, selection: .all, hooks: nil)
    }

    /// Row i's query (one per sequence) against the `positions` keys and values of `caches[i]`'s layer `layer`, into
    /// `scratch.attention`: softmax(q·Kᵀ/√d)·V per head, grouped-query heads sharing their key/value head.
    private static func attendOne(
        _ c: LlamaConfiguration, scratch s: borrowing ForwardScratch, caches: [KVCache], layer: Int, positions S: Int
    ) {
        let d = c.headDimension, heads = c.attentionHeadCount, scale = 1 / Float(d).squareRoot()
        nonisolated(unsafe) let (query, attention, scores) = (s.query, s.attention, s.scores)
        Parallel.forEach(count: caches.count * heads) { item in
            let row = item / heads, head = item % heads, group = head / c.groupSize
            let q = query + row * c.queryWidth + head * d
            let out = attention + row * c.queryWidth + head * d
            let weights = scores + item * S
            caches[row].keys[layer].withUnsafeBufferPointer { keys in
                for p in 0..<S {
                    let k = keys.baseAddress! + p * c.keyValueWidth + group * d
                    var dot: Float = 0
                    for j in 0..<d { dot += q[j] * k[j] }
                    weights[p] = dot * scale
                }
            }
            Activation.softmax(weights, count: S)
            out.update(repeating: 0, count: d)
            caches[row].values[layer].withUnsafeBufferPointer { values in
                for p in 0..<S {
                    let v = values.baseAddress! + p * c.keyValueWidth + group * d, w = weights[p]
                    for j in 0..<d { out[j] += w * v[j] }
                }
            }
        }
    }
}
