import Foundation
import TensorCore

extension LlamaModel {
    /// Which rows of logits a forward pass computes.
    public enum LogitsSelection: Sendable {
        /// Every input position: `[T, vocabularySize]`.
        case all
        /// Only the last position: `[1, vocabularySize]` (decoding).
        case last
        /// None (prefill for the cache only): `[0, vocabularySize]`.
        case none
    }

    /// Runs `tokens` at positions `cache.count ..< cache.count + T`, appending their keys and values to `cache`.
    /// Prefill passes many tokens (matrix products through BLAS); decode passes one.
    /// - Returns: logits `[rows, vocabularySize]` as chosen by `logits`.
    /// - Throws: `ModelError.invalidInput` for an empty input, a token id outside the vocabulary, or a context overflow.
    public func forward(
        tokens: [Int], cache: inout KVCache, logits selection: LogitsSelection = .all, hooks: (any ForwardHooks)? = nil
    ) throws(ModelError) -> Tensor {
        let c = configuration
        try checkTokens(tokens)
        guard cache.count + tokens.count <= c.maxPositionEmbeddings else {
            throw .invalidInput("\(cache.count + tokens.count) positions exceed the model's context of \(c.maxPositionEmbeddings)")
        }
        guard cache.width == c.keyValueWidth else { throw .invalidInput("KV cache width \(cache.width) does not fit this model") }
        cache.reserve(tokens.count)
        let T = tokens.count
        var x = embedRows(tokens)
        var scratch = ForwardScratch(configuration: c, tokenCount: T, past: cache.count)
        for layer in blocks.indices {
            try runBlock(layer, cacheSlot: layer, x: &x, cache: &cache, scratch: &scratch, hooks: hooks)
        }
        cache.commit(T)
        return try finalLogits(x, tokenCount: T, selection: selection, hooks: hooks)
    }

    /// The embedding rows of `tokens` (checked by the caller): `[T, hiddenSize]`.
    func embedRows(_ tokens: [Int]) -> [Float] {
        let H = configuration.hiddenSize
        var x = [Float](repeating: 0, count: tokens.count * H)
        if let packedEmbedding {
            x.withUnsafeMutableBufferPointer { rows in
                for (t, token) in tokens.enumerated() { packedEmbedding.dequantizeRow(token, into: rows.baseAddress! + t * H) }
            }
            return x
        }
        floatEmbedding.scalars.withUnsafeBufferPointer { table in
            for (t, token) in tokens.enumerated() {
                for j in 0..<H { x[t * H + j] = table[token * H + j] }
            }
        }
        return x
    }

    /// The final norm and LM head over the residual stream `x: [T, hiddenSize]`, for the rows `selection` picks.
    func finalLogits(
        _ x: [Float], tokenCount T: Int, selection: LogitsSelection, hooks: (any ForwardHooks)?
    ) throws(ModelError) -> Tensor {
        let c = configuration, H = c.hiddenSize
        let rows: Range<Int> = switch selection {
        case .all: 0..<T
        case .last: (T - 1)..<T
        case .none: T..<T
        }
        var normalized = [Float](repeating: 0, count: rows.count * H)
        x.withUnsafeBufferPointer { xs in
            finalNorm.scalars.withUnsafeBufferPointer { w in
                normalized.withUnsafeMutableBufferPointer { out in
                    nonisolated(unsafe) let (xp, wp, op) = (xs.baseAddress!, w.baseAddress!, out.baseAddress!)
                    let epsilon = c.rmsNormEpsilon, start = rows.lowerBound
                    Parallel.forEachChunk(count: rows.count, minimumPerChunk: 8) { chunk in
                        for r in chunk {
                            Activation.rmsNorm(xp + (start + r) * H, weight: wp, epsilon: epsilon, count: H, into: op + r * H)
                        }
                    }
                }
            }
        }
        var result = Tensor(shape: [rows.count, c.vocabularySize])
        if !rows.isEmpty {
            try normalized.withUnsafeBufferPointer { (input) throws(ModelError) in
                try result.scalars.withUnsafeMutableBufferPointer { (output) throws(ModelError) in
                    try lmHead.forward(input.baseAddress!, rows: rows.count, into: output.baseAddress!, hooks: hooks)
                }
            }
        }
        return result
    }

    /// Runs block `layer` on `x: [T, hiddenSize]` in place, keeping its keys and values in `cache`'s layer `cacheSlot`.
    /// - Throws: `ModelError.activationQuantization` naming the layer or the KV cache.
    func runBlock(
        _ layer: Int, cacheSlot: Int, x: inout [Float], cache: inout KVCache, scratch s: inout ForwardScratch,
        hooks: (any ForwardHooks)?
    ) throws(ModelError) {
        let c = configuration
        try runBlock(layer, x: &x, scratch: &s, hooks: hooks) { s in
            let T = s.tokenCount
            cache.keys[cacheSlot].withUnsafeMutableBufferPointer { keys in
                cache.values[cacheSlot].withUnsafeMutableBufferPointer { values in
                    let offset = s.past * c.keyValueWidth
                    (keys.baseAddress! + offset).update(from: s.key, count: T * c.keyValueWidth)
                    (values.baseAddress! + offset).update(from: s.value, count: T * c.keyValueWidth)
                    s.attend(c, keys: keys.baseAddress!, values: values.baseAddress!)
                }
            }
        }
    }

    /// Runs block `layer` on `x: [T, hiddenSize]` in place; `storeAndAttend` keeps the new keys and values
    /// (`scratch.key`, `scratch.value`, rotated and quantized) and writes the attention of `scratch.query` into
    /// `scratch.attention`.
    /// - Throws: `ModelError.activationQuantization` naming the layer or the KV cache.
    func runBlock(
        _ layer: Int, x: inout [Float], scratch s: inout ForwardScratch, hooks: (any ForwardHooks)?,
        storeAndAttend: (borrowing ForwardScratch) -> Void
    ) throws(ModelError) {
        let c = configuration
        let block = blocks[layer]
        let T = s.tokenCount, H = c.hiddenSize
        try x.withUnsafeMutableBufferPointer { (xs) throws(ModelError) in
            let xp = xs.baseAddress!
            s.rmsNorm(xp, weight: block.inputNorm, epsilon: c.rmsNormEpsilon, width: H)
            try Linear.forward(
                [block.queryProjection, block.keyProjection, block.valueProjection], s.normalized, rows: T,
                into: [s.query, s.key, s.value], hooks: hooks)
            s.applyRotary(c)
            hooks?.keyValue(layer: layer, keys: s.key, values: s.value, rows: T, width: c.keyValueWidth)
            let place = "model.layers.\(layer).self_attn"
            try block.keyQuantizer?.apply(s.key, rows: T, columns: c.keyValueWidth, at: "\(place).keys")
            try block.valueQuantizer?.apply(s.value, rows: T, columns: c.keyValueWidth, at: "\(place).values")
            storeAndAttend(s)
            try block.outputProjection.forward(s.attention, rows: T, into: s.residual, hooks: hooks)
            s.addResidual(into: xp, count: T * H)
            s.rmsNorm(xp, weight: block.postAttentionNorm, epsilon: c.rmsNormEpsilon, width: H)
            try Linear.forward([block.gateProjection, block.upProjection], s.normalized, rows: T, into: [s.gate, s.up], hooks: hooks)
            nonisolated(unsafe) let (gate, up) = (s.gate, s.up)
            let width = c.intermediateSize
            Parallel.forEachChunk(count: T, minimumPerChunk: 4) { rows in
                Activation.swiGLU(gate: gate + rows.lowerBound * width, up: up + rows.lowerBound * width, count: rows.count * width)
            }
            try block.downProjection.forward(s.gate, rows: T, into: s.residual, hooks: hooks)
            s.addResidual(into: xp, count: T * H)
        }
    }
}
