import TensorCore

/// Clipping-range search for weights (`observer: mse` on a weight scheme): each parameter slot's range
/// `[min, max]` shrinks to `[α·min, α·max]` for α = 1.00, 0.99, …, 0.21, and the α whose fake-quantized slot has the
/// least squared error is kept (ties keep the wider range). This is the GPTQ reference's `find_params(mse=True)`
/// grid (100 steps, at most 80% shrink) with p = 2, the weight clipping QuaRot applies before round-to-nearest, and
/// AMD Quark's MSE weight observer. Weights are Gaussian-like after a rotation, so their extreme values cost more
/// rounding error for the bulk than clipping them costs; min/max is the right range only for heavy-tailed slots.
///
/// Integer schemes only; any granularity but per token and per block. The search reads the weight once per
/// candidate (80 passes over contiguous runs that LLVM vectorizes).
public enum WeightRangeSearch {
    /// Shrink factors tried: α = 1 − k/100 for k = 0..<80.
    public static let candidateCount = 80

    /// Parameters of `tensor` under `scheme` with each slot's range searched (see the type's comment).
    /// - Throws: `QuantError.invalidConfiguration` for a non-integer scheme or a layout that does not fit;
    ///   `.nonFiniteInput` naming the first NaN or infinity.
    public static func parameters(for tensor: Tensor, scheme: QuantScheme) throws(QuantError) -> QuantParameters {
        let grid = try AffineQuantizer.integerGrid(scheme)
        let layout = try ParameterLayout(
            granularity: scheme.granularity, axis: scheme.axis, groupSize: scheme.groupSize, shape: tensor.shape)
        let count = layout.parameterCount
        var scales = [Float](repeating: 0, count: count)
        var zeroPoints = [Int32](repeating: 0, count: count)
        if tensor.elementCount == 0 {
            let (scale, zeroPoint) = grid.parameters(minimum: 0, maximum: 0)
            scales = [Float](repeating: scale, count: count)
            zeroPoints = [Int32](repeating: zeroPoint, count: count)
        } else {
            try tensor.scalars.withUnsafeBufferPointer { buffer throws(QuantError) in
                let src = buffer.baseAddress!
                let (minimum, maximum) = try AffineQuantizer.extrema(
                    src, layout: layout, shape: tensor.shape, context: "weight range search")
                var runsBySlot = [[(start: Int, length: Int)]](repeating: [], count: count)
                layout.forEachRun { start, length, slot in runsBySlot[slot].append((start, length)) }
                for slot in 0..<count {
                    let runs = runsBySlot[slot]
                    (scales[slot], zeroPoints[slot]) =
                        switch grid.rounding {
                        case .halfToEven:
                            search(HalfToEvenRule.self, src, runs, minimum[slot], maximum[slot], grid)
                        case .halfAwayFromZero:
                            search(HalfAwayFromZeroRule.self, src, runs, minimum[slot], maximum[slot], grid)
                        case .floor: search(FloorRule.self, src, runs, minimum[slot], maximum[slot], grid)
                        }
                }
            }
            try grid.checkScales(scales)
        }
        return try QuantParameters(
            granularity: scheme.granularity, axis: scheme.axis, groupSize: scheme.groupSize, shape: tensor.shape,
            scales: scales, zeroPoints: zeroPoints)
    }

    /// The best (scale, zero point) of one slot whose elements are `runs` (start, length) of `src`.
    static func search<R: RoundingRule>(
        _ rule: R.Type, _ src: UnsafePointer<Float>, _ runs: [(start: Int, length: Int)], _ minimum: Float, _ maximum: Float,
        _ grid: AffineGrid
    ) -> (scale: Float, zeroPoint: Int32) {
        var best = grid.parameters(minimum: minimum, maximum: maximum)
        guard minimum < maximum else { return best }
        var bestError = Float.infinity
        for k in 0..<candidateCount {
            let alpha = 1 - Float(k) / 100
            let candidate = grid.parameters(minimum: alpha * minimum, maximum: alpha * maximum)
            let run = grid.run(scale: candidate.scale, zeroPoint: candidate.zeroPoint)
            var error: Float = 0
            for (start, length) in runs {
                error += squaredError(rule, src + start, length, run)
            }
            if error < bestError {
                bestError = error
                best = candidate
            }
        }
        return best
    }

    /// Σ (fakeQuantize(x) − x)² over `count` contiguous values (clamping in code units before rounding, as the
    /// kernels do: both bounds are integers, so it equals clamping after).
    @inline(__always)
    static func squaredError<R: RoundingRule>(
        _: R.Type, _ values: UnsafePointer<Float>, _ count: Int, _ run: RunParameters
    ) -> Float {
        var total: Float = 0
        for i in 0..<count {
            let x = values[i]
            let q = R.apply(Swift.min(Swift.max(x * run.inverseScale, run.lower), run.upper))
            let d = q * run.scale - x
            total += d * d
        }
        return total
    }
}
