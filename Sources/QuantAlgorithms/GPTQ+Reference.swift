import QuantCore
import TensorCore

extension GPTQ.Problem {
    /// Column-by-column GPTQ in the natural layout `W: [outFeatures, inFeatures]`, element by element: each
    /// quantized column's error immediately updates every later column (no lazy batching, no BLAS). The reference
    /// for `solve(blockSize:)`.
    func solveReference() throws(QuantError) -> GPTQ.Solution {
        let (m, n, g) = (outFeatures, inFeatures, groupSize)
        var w = weight
        var codes = [Int32](repeating: 0, count: n * m)
        var scales = hasDynamicGroups ? [Float](repeating: 0, count: groupCount * m) : fixedScales
        var zeroPoints = hasDynamicGroups ? [Int32](repeating: 0, count: groupCount * m) : fixedZeroPoints
        for p in 0..<n {
            if hasDynamicGroups && p % g == 0 {
                // Parameters of processing group p / g from its current (already updated) columns.
                for r in 0..<m {
                    var low: Float = 0, high: Float = 0
                    for q in p..<min(p + g, n) {
                        low = min(low, w[r * n + permutation[q]])
                        high = max(high, w[r * n + permutation[q]])
                    }
                    var scale: Float = 0, zeroPoint: Int32 = 0
                    try AffineQuantizer.rangeParameters(
                        minimum: [low], maximum: [high], count: 1, scheme: scheme, scales: &scale,
                        zeroPoints: &zeroPoint)
                    scales[(p / g) * m + r] = scale
                    zeroPoints[(p / g) * m + r] = zeroPoint
                }
            }
            let column = permutation[p]
            let slot = (column / g) * m
            let d = inverseFactor[p * n + p]
            for r in 0..<m {
                let x = w[r * n + column]
                var code: Int32 = 0, value: Float = 0
                let finite = try AffineQuantizer.quantizeElementwise(
                    [x], count: 1, scales: [scales[slot + r]], zeroPoints: [zeroPoints[slot + r]], scheme: scheme,
                    codes: &code, dequantized: &value)
                guard finite else {
                    throw .nonFiniteInput("GPTQ reference diverged at processing position \(p), row \(r)")
                }
                codes[p * m + r] = code
                let error = (x - value) / d
                for q in (p + 1)..<n { w[r * n + permutation[q]] -= inverseFactor[p * n + q] * error }
            }
        }
        return GPTQ.Solution(codes: codes, scales: scales, zeroPoints: zeroPoints)
    }
}
