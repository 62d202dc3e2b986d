import QuantCore
import TensorCore

extension GPTQ.Problem {
    /// The lazy-batch solver (the paper's Alg. 1). The weight is held transposed, `[inFeatures, outFeatures]`, so
    /// that each column of W (all output rows of one input) is one contiguous row: quantizing a column and
    /// updating a later one are unit-stride loops. Within a block every column's error updates the block's later
    /// columns at once (rank-1 updates); the columns after the block get all of the block's errors in one GEMM.
    func solve(blockSize: Int) throws(QuantError) -> GPTQ.Solution {
        let (m, n, g) = (outFeatures, inFeatures, groupSize)
        let wt = UnsafeMutablePointer<Float>.allocate(capacity: n * m)
        defer { wt.deallocate() }
        for r in 0..<m {
            for p in 0..<n { wt[p * m + r] = weight[r * n + permutation[p]] }
        }
        var codes = [Int32](repeating: 0, count: n * m)
        var scales = hasDynamicGroups ? [Float](repeating: 0, count: groupCount * m) : fixedScales
        var zeroPoints = hasDynamicGroups ? [Int32](repeating: 0, count: groupCount * m) : fixedZeroPoints
        // Blocks are cut at group starts (dynamic groups only), so a group starting inside a block lies inside it
        // and its columns are current: earlier blocks' GEMMs and this block's rank-1 updates are all applied.
        let blockWidth = hasDynamicGroups && g <= blockSize ? blockSize / g * g : blockSize
        let errors = UnsafeMutablePointer<Float>.allocate(capacity: blockWidth * m)
        defer { errors.deallocate() }
        var dequantized = [Float](repeating: 0, count: m)
        var low = [Float](repeating: 0, count: m), high = low
        var diverged: Int?

        inverseFactor.withUnsafeBufferPointer { hinvBuffer in
            let hinv = hinvBuffer.baseAddress!
            codes.withUnsafeMutableBufferPointer { codeBuffer in
                scales.withUnsafeMutableBufferPointer { scaleBuffer in
                    zeroPoints.withUnsafeMutableBufferPointer { zeroBuffer in
                        var start = 0
                        while start < n && diverged == nil {
                            var end = min(start + blockWidth, n)
                            if hasDynamicGroups && g > blockSize { end = min(end, (start / g + 1) * g) }
                            for j in start..<end {
                                if hasDynamicGroups && j % g == 0 {
                                    let k = j / g
                                    Self.columnExtrema(wt + j * m, rows: min(g, n - j), width: m, &low, &high)
                                    if searchesRange {
                                        do {
                                            let count = min(g, n - j)
                                            try Self.searchRanges(
                                                wt + j * m, rows: count, width: m, &low, &high, scheme: scheme,
                                                columnWeights: (j..<(j + count)).map { columnWeights[permutation[$0]] })
                                        } catch {
                                            diverged = j
                                            return
                                        }
                                    }
                                    // Range parameters only fail on a float16 scale overflow, which a finite weight
                                    // can reach only after diverging; report it as such below.
                                    do {
                                        try AffineQuantizer.rangeParameters(
                                            minimum: low, maximum: high, count: m, scheme: scheme,
                                            scales: scaleBuffer.baseAddress! + k * m,
                                            zeroPoints: zeroBuffer.baseAddress! + k * m)
                                    } catch {
                                        diverged = j
                                        return
                                    }
                                }
                                let group = permutation[j] / g
                                let column = wt + j * m
                                let finite =
                                    (try? AffineQuantizer.quantizeElementwise(
                                        column, count: m, scales: scaleBuffer.baseAddress! + group * m,
                                        zeroPoints: zeroBuffer.baseAddress! + group * m, scheme: scheme,
                                        codes: codeBuffer.baseAddress! + j * m, dequantized: &dequantized)) ?? false
                                guard finite else {
                                    diverged = j
                                    return
                                }
                                let d = hinv[j * n + j]
                                let error = errors + (j - start) * m
                                for r in 0..<m { error[r] = (column[r] - dequantized[r]) / d }
                                for k in (j + 1)..<end {
                                    let c = hinv[j * n + k]
                                    let target = wt + k * m
                                    for r in 0..<m { target[r] -= c * error[r] }
                                }
                            }
                            if end < n {
                                // W[:, end...] −= Err · Hinv[start..<end, end...]   (transposed: rows of wt)
                                BLAS.sgemm(
                                    transposeA: true, transposeB: false, m: n - end, n: m, k: end - start, alpha: -1,
                                    a: hinv + start * n + end, lda: n, b: errors, ldb: m, beta: 1, c: wt + end * m,
                                    ldc: m)
                            }
                            start = end
                        }
                    }
                }
            }
        }
        if let column = diverged {
            throw .nonFiniteInput(
                "GPTQ diverged at processing position \(column) (weight column \(permutation[column])): the updated "
                    + "weight is not finite; the Hessian is too ill-conditioned (raise dampening)")
        }
        return GPTQ.Solution(codes: codes, scales: scales, zeroPoints: zeroPoints)
    }

    /// Shrinks each output row's range `low[r]...high[r]` to the factor in {1, 0.99, ..., 0.21} whose parameters give
    /// the least rounding error over the `rows` consecutive input columns at `columnsStart` (each a row of `width`
    /// floats, one per output row), each column's squared error weighted by `columnWeights` (diag(H): what an error
    /// on that input costs the layer's output; the reference weighs all columns alike).
    static func searchRanges(
        _ columnsStart: UnsafePointer<Float>, rows: Int, width m: Int, _ low: inout [Float], _ high: inout [Float],
        scheme: QuantScheme, columnWeights: [Float]
    ) throws(QuantError) {
        precondition(columnWeights.count == rows)
        var bestError = [Float](repeating: .infinity, count: m)
        var bestLow = low, bestHigh = high
        var scales = [Float](repeating: 0, count: m), zeroPoints = [Int32](repeating: 0, count: m)
        var codes = [Int32](repeating: 0, count: m), dequantized = [Float](repeating: 0, count: m)
        var error = [Float](repeating: 0, count: m)
        var candidateLow = low, candidateHigh = high
        for step in 0..<80 {
            let factor = 1 - Float(step) / 100
            for r in 0..<m {
                candidateLow[r] = low[r] * factor
                candidateHigh[r] = high[r] * factor
            }
            try scales.withUnsafeMutableBufferPointer { (s) throws(QuantError) in
                try zeroPoints.withUnsafeMutableBufferPointer { (z) throws(QuantError) in
                    try AffineQuantizer.rangeParameters(
                        minimum: candidateLow, maximum: candidateHigh, count: m, scheme: scheme, scales: s.baseAddress!,
                        zeroPoints: z.baseAddress!)
                }
            }
            for r in 0..<m { error[r] = 0 }
            for c in 0..<rows {
                let column = columnsStart + c * m
                _ = try AffineQuantizer.quantizeElementwise(
                    column, count: m, scales: scales, zeroPoints: zeroPoints, scheme: scheme, codes: &codes,
                    dequantized: &dequantized)
                let weight = columnWeights[c]
                for r in 0..<m {
                    let d = dequantized[r] - column[r]
                    error[r] += weight * d * d
                }
            }
            for r in 0..<m where error[r] < bestError[r] {
                bestError[r] = error[r]
                bestLow[r] = candidateLow[r]
                bestHigh[r] = candidateHigh[r]
            }
        }
        low = bestLow
        high = bestHigh
    }

    /// Per-output-row minimum and maximum (starting from 0) over `rows` consecutive rows of `width` floats.
    static func columnExtrema(
        _ rowsStart: UnsafePointer<Float>, rows: Int, width: Int, _ low: inout [Float], _ high: inout [Float]
    ) {
        low.withUnsafeMutableBufferPointer { l in
            high.withUnsafeMutableBufferPointer { h in
                for r in 0..<width {
                    l[r] = 0
                    h[r] = 0
                }
                for i in 0..<rows {
                    let row = rowsStart + i * width
                    for r in 0..<width {
                        l[r] = min(l[r], row[r])
                        h[r] = max(h[r], row[r])
                    }
                }
            }
        }
    }
}
