import Foundation
import TensorCore

/// Work buffers for one forward pass of `tokenCount` tokens after `past` cached positions, allocated once and reused
/// by every block.
struct ForwardScratch: ~Copyable {
    let tokenCount: Int
    let past: Int
    let normalized, query, key, value, attention, residual, gate, up, scores: UnsafeMutablePointer<Float>
    /// cos and sin of each position's rotary angles: `[tokenCount, headDimension / 2]`.
    let cosines, sines: UnsafeMutablePointer<Float>
    private let allocations: [UnsafeMutablePointer<Float>]

    /// Buffers for `T` rows after `past` cached positions; row t sits at position `positions?[t] ?? past + t` for the
    /// rotary angles (a batched decode step passes every sequence's one position).
    init(configuration c: LlamaConfiguration, tokenCount T: Int, past: Int, positions: [Int]? = nil) {
        precondition(positions == nil || positions!.count == T)
        tokenCount = T
        self.past = past
        func make(_ count: Int) -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
            p.initialize(repeating: 0, count: max(count, 1))
            return p
        }
        normalized = make(T * c.hiddenSize)
        query = make(T * c.queryWidth)
        key = make(T * c.keyValueWidth)
        value = make(T * c.keyValueWidth)
        attention = make(T * c.queryWidth)
        residual = make(T * c.hiddenSize)
        gate = make(T * c.intermediateSize)
        up = make(T * c.intermediateSize)
        scores = make(c.attentionHeadCount * T * (past + T))
        let half = c.headDimension / 2
        cosines = make(T * half)
        sines = make(T * half)
        allocations = [normalized, query, key, value, attention, residual, gate, up, scores, cosines, sines]
        // Angles in double precision: θ_i = p · base^(−2i/d) (Su et al. 2021, eq. 15; rotate-half layout as in transformers).
        for t in 0..<T {
            let position = Double(positions?[t] ?? past + t)
            for i in 0..<half {
                let inverseFrequency = 1.0 / pow(Double(c.ropeTheta), Double(2 * i) / Double(c.headDimension))
                let angle = position * Double(Float(inverseFrequency))
                cosines[t * half + i] = Float(cos(angle))
                sines[t * half + i] = Float(sin(angle))
            }
        }
    }

    deinit {
        for p in allocations { p.deallocate() }
    }

    func rmsNorm(_ x: UnsafeMutablePointer<Float>, weight: Tensor, epsilon: Float, width: Int) {
        nonisolated(unsafe) let (xp, out) = (x, normalized)
        weight.scalars.withUnsafeBufferPointer { w in
            nonisolated(unsafe) let wp = w.baseAddress!
            Parallel.forEachChunk(count: tokenCount, minimumPerChunk: 8) { rows in
                for r in rows { Activation.rmsNorm(xp + r * width, weight: wp, epsilon: epsilon, count: width, into: out + r * width) }
            }
        }
    }

    func addResidual(into x: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { x[i] += residual[i] }
    }

    /// Rotates query and key heads in place: (x_i, x_{i+d/2}) ↦ (x_i cos − x_{i+d/2} sin, x_{i+d/2} cos + x_i sin).
    func applyRotary(_ c: LlamaConfiguration) {
        let half = c.headDimension / 2
        func rotate(_ base: UnsafeMutablePointer<Float>, heads: Int) {
            for t in 0..<tokenCount {
                let cs = cosines + t * half, sn = sines + t * half
                for head in 0..<heads {
                    let v = base + (t * heads + head) * c.headDimension
                    for i in 0..<half {
                        let a = v[i], b = v[i + half]
                        v[i] = a * cs[i] - b * sn[i]
                        v[i + half] = b * cs[i] + a * sn[i]
                    }
                }
            }
        }
        rotate(query, heads: c.attentionHeadCount)
        rotate(key, heads: c.keyValueHeadCount)
    }

    /// Causal grouped-query attention of the new tokens over every cached position (Vaswani et al. 2017, eq. 1).
    /// Work items are (head, block of query rows); each computes scores = Q·Kᵀ/√d over only the positions its rows
    /// can see, a row softmax with the causal mask, then scores·V, through single-threaded BLAS calls.
    func attend(_ c: LlamaConfiguration, keys: UnsafePointer<Float>, values: UnsafePointer<Float>) {
        let T = tokenCount, S = past + T, d = c.headDimension
        let scale = 1 / Float(d).squareRoot()
        let rowBlock = 64
        let rowBlocks = (T + rowBlock - 1) / rowBlock
        nonisolated(unsafe) let (scores, query, attention, keys, values) = (self.scores, self.query, self.attention, keys, values)
        let past = self.past
        Parallel.forEach(count: c.attentionHeadCount * rowBlocks) { item in
            let head = item % c.attentionHeadCount, block = item / c.attentionHeadCount
            let group = head / c.groupSize
            let first = block * rowBlock, last = min(T, first + rowBlock)
            let visible = past + last  // positions the block's last row can see
            let rows = last - first
            let buffer = scores + (head * T + first) * S
            BLAS.sgemm(transposeA: false, transposeB: true, m: rows, n: visible, k: d, alpha: scale,
                       a: query + first * c.queryWidth + head * d, lda: c.queryWidth,
                       b: keys + group * d, ldb: c.keyValueWidth, c: buffer, ldc: S)
            for r in 0..<rows {
                let row = buffer + r * S
                let seen = past + first + r + 1
                Activation.softmax(row, count: seen)
                if seen < visible { (row + seen).update(repeating: 0, count: visible - seen) }
            }
            BLAS.sgemm(transposeA: false, transposeB: false, m: rows, n: d, k: visible,
                       a: buffer, lda: S, b: values + group * d, ldb: c.keyValueWidth,
                       c: attention + first * c.queryWidth + head * d, ldc: c.queryWidth)
        }
    }
}
