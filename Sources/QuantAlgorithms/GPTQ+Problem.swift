import QuantCore
import TensorCore

extension GPTQ {
    /// Everything both solvers share, prepared once: validated shapes and scheme, the weight with dead inputs
    /// zeroed, the column order, fixed group parameters, and the upper Cholesky factor of the dampened H⁻¹ (in
    /// processing order).
    struct Problem {
        let scheme: QuantScheme
        /// `Configuration.searchesRange`.
        let searchesRange: Bool
        /// diag(H) per natural column: how much each input's rounding error costs, weighting the range search.
        let columnWeights: [Float]
        let outFeatures: Int
        let inFeatures: Int
        /// Columns sharing one parameter pair: `groupSize` per group, `inFeatures` per channel.
        let groupSize: Int
        /// ⌈inFeatures / groupSize⌉ groups per row.
        let groupCount: Int
        /// Parameters computed when a group's first column is reached (from the updated weight), not up front.
        let hasDynamicGroups: Bool
        /// `[outFeatures, inFeatures]`, dead inputs set to 0.
        let weight: [Float]
        /// Processing position → natural column (identity without act-order).
        let permutation: [Int]
        /// Up-front parameters per natural group, transposed `[groupCount, outFeatures]` (empty when dynamic).
        let fixedScales: [Float]
        let fixedZeroPoints: [Int32]
        /// Upper factor U of (H + λI)⁻¹ = Uᵀ·U, `[inFeatures, inFeatures]` row-major, in processing order.
        let inverseFactor: [Float]
        /// The dampening fraction that made H + λI positive definite.
        let dampening: Float

        init(
            weight tensor: Tensor, hessian: HessianAccumulator, scheme: QuantScheme, configuration: Configuration
        ) throws(QuantError) {
            try Self.check(scheme)
            guard tensor.rank == 2, tensor.shape[0] > 0, tensor.shape[1] == hessian.columns else {
                throw .shapeMismatch(
                    "GPTQ weight must be [outFeatures, \(hessian.columns)] to match the Hessian's \(hessian.columns) "
                        + "columns, got \(tensor.shape)")
            }
            guard hessian.sampleCount > 0 else {
                throw .noCalibrationData("GPTQ Hessian over \(hessian.columns) columns has no accumulated inputs")
            }
            if let bad = tensor.scalars.firstIndex(where: { !$0.isFinite }) {
                throw .nonFiniteInput(
                    "GPTQ weight element [\(bad / tensor.shape[1]), \(bad % tensor.shape[1])] is \(tensor.scalars[bad])"
                )
            }
            let (m, n) = (tensor.shape[0], tensor.shape[1])
            self.scheme = scheme
            // A weight scheme with the `mse` observer asks for searched ranges; GPTQ searches them against diag(H).
            let searchesRange = configuration.searchesRange || scheme.observer == .mse
            self.searchesRange = searchesRange
            outFeatures = m
            inFeatures = n
            groupSize = scheme.granularity == .perGroup ? scheme.groupSize! : n
            groupCount = (n + groupSize - 1) / groupSize
            let staticGroups =
                scheme.granularity == .perChannel || (configuration.actOrder && configuration.staticGroups)
            if configuration.actOrder && !staticGroups {
                throw .invalidConfiguration(
                    field: "static_groups",
                    reason: "GPTQ act-order with dynamic groups makes groups of permuted columns, which a "
                        + "QuantizedTensor cannot store (groups are consecutive columns, no g_idx); set staticGroups "
                        + "or turn actOrder off")
            }
            hasDynamicGroups = !staticGroups

            // Dead inputs (never active in calibration): any weight there is free to be 0, and H[i,i] = 1 keeps
            // H invertible without coupling the column to others.
            var h = hessian.symmetricMatrix()
            var w = tensor.scalars
            for i in 0..<n where h[i * n + i] == 0 {
                h[i * n + i] = 1
                for r in 0..<m { w[r * n + i] = 0 }
            }
            weight = w
            columnWeights = (0..<n).map { Float(h[$0 * n + $0]) }

            if configuration.actOrder {
                // Decreasing diag(H); ties keep natural order (stable), so the result is deterministic.
                permutation = (0..<n).sorted { a, b in
                    let (ha, hb) = (h[a * n + a], h[b * n + b])
                    return ha != hb ? ha > hb : a < b
                }
            } else {
                permutation = Array(0..<n)
            }

            if staticGroups {
                // As the reference: per-channel parameters come from the weight as given (before dead inputs are
                // zeroed, so they equal round-to-nearest's), static groups from the weight after zeroing.
                (fixedScales, fixedZeroPoints) = try Self.naturalGroupParameters(
                    scheme.granularity == .perChannel ? tensor.scalars : w, rows: m, columns: n, groupSize: groupSize,
                    scheme: scheme, searchesRange: searchesRange, columnWeights: columnWeights)
            } else {
                (fixedScales, fixedZeroPoints) = ([], [])
            }

            if configuration.actOrder {
                var permuted = [Double](repeating: 0, count: n * n)
                for a in 0..<n {
                    for b in 0..<n { permuted[a * n + b] = h[permutation[a] * n + permutation[b]] }
                }
                h = permuted
            }
            (inverseFactor, dampening) = try Self.inverseFactor(h, dimension: n, configuration: configuration)
        }

        /// Rejects schemes GPTQ cannot produce codes for.
        static func check(_ scheme: QuantScheme) throws(QuantError) {
            guard scheme.dataType.isInteger else {
                throw .invalidConfiguration(
                    field: "dtype",
                    reason: "GPTQ rounds to an integer grid; \(scheme.dataType.rawValue) is not an integer format "
                        + "(use int2-int8 or uint2-uint8)")
            }
            switch scheme.granularity {
            case .perGroup:
                break
            case .perChannel:
                guard scheme.axis == 0 else {
                    throw .invalidConfiguration(
                        field: "axis",
                        reason: "GPTQ quantizes weights [outFeatures, inFeatures] per output channel (axis 0), got "
                            + "axis \(scheme.axis)")
                }
            case .perTensor, .perToken, .perBlock:
                throw .invalidConfiguration(
                    field: "granularity",
                    reason: "GPTQ needs per_channel (axis 0) or per_group weight parameters, got "
                        + scheme.granularity.rawValue)
            }
        }

        /// Min/max parameters of each natural group of `w: [rows, columns]`, transposed `[groups, rows]`.
        static func naturalGroupParameters(
            _ w: [Float], rows m: Int, columns n: Int, groupSize g: Int, scheme: QuantScheme, searchesRange: Bool = false,
            columnWeights: [Float] = []
        ) throws(QuantError) -> ([Float], [Int32]) {
            let groups = (n + g - 1) / g
            var low = [Float](repeating: 0, count: groups * m), high = low
            for r in 0..<m {
                for c in 0..<n {
                    let slot = (c / g) * m + r
                    low[slot] = min(low[slot], w[r * n + c])
                    high[slot] = max(high[slot], w[r * n + c])
                }
            }
            if searchesRange {
                for k in 0..<groups {
                    let first = k * g, count = min(g, n - first)
                    var columns = [Float](repeating: 0, count: count * m)  // [count, m]: one input column per row
                    for r in 0..<m {
                        for c in 0..<count { columns[c * m + r] = w[r * n + first + c] }
                    }
                    var groupLow = Array(low[(k * m)..<((k + 1) * m)]), groupHigh = Array(high[(k * m)..<((k + 1) * m)])
                    let weights = columnWeights.isEmpty ? [Float](repeating: 1, count: count) : Array(columnWeights[first..<(first + count)])
                    try columns.withUnsafeBufferPointer { (p) throws(QuantError) in
                        try Self.searchRanges(
                            p.baseAddress!, rows: count, width: m, &groupLow, &groupHigh, scheme: scheme, columnWeights: weights)
                    }
                    low.replaceSubrange((k * m)..<((k + 1) * m), with: groupLow)
                    high.replaceSubrange((k * m)..<((k + 1) * m), with: groupHigh)
                }
            }
            var scales = [Float](repeating: 0, count: groups * m)
            var zeroPoints = [Int32](repeating: 0, count: groups * m)
            try scales.withUnsafeMutableBufferPointer { s throws(QuantError) in
                try zeroPoints.withUnsafeMutableBufferPointer { z throws(QuantError) in
                    try AffineQuantizer.rangeParameters(
                        minimum: low, maximum: high, count: groups * m, scheme: scheme, scales: s.baseAddress!,
                        zeroPoints: z.baseAddress!)
                }
            }
            return (scales, zeroPoints)
        }

        /// Upper Cholesky factor of (H + λ·I)⁻¹ with λ = fraction · mean(diag H), in float64 (through a reversed-order
        /// factorization, not an explicit inverse: `Cholesky.inverseUpperFactor`), converted to float32;
        /// retries with ten times the fraction when a factorization fails.
        static func inverseFactor(
            _ h: [Double], dimension n: Int, configuration: Configuration
        ) throws(QuantError) -> ([Float], Float) {
            var meanDiagonal = 0.0
            for i in 0..<n { meanDiagonal += h[i * n + i] }
            meanDiagonal /= Double(n)
            var fraction = configuration.dampening
            var failure: LinearAlgebraError?
            for attempt in 0...configuration.maxDampeningRetries {
                if attempt > 0 { fraction = fraction > 0 ? fraction * 10 : 0.01 }
                var a = h
                let lambda = Double(fraction) * meanDiagonal
                for i in 0..<n { a[i * n + i] += lambda }
                do {
                    try Cholesky.inverseUpperFactor(&a, dimension: n)
                    return (a.map(Float.init), fraction)
                } catch {
                    failure = error
                }
            }
            throw .invalidConfiguration(
                field: "dampening",
                reason: "GPTQ Hessian [\(n), \(n)] is not positive definite even with dampening \(fraction) "
                    + "(\(configuration.maxDampeningRetries) retries from \(configuration.dampening)): "
                    + "\(failure.map { "\($0)" } ?? "?"); check the calibration inputs")
        }

        /// Turns a solver's codes (processing order, transposed) and parameters into the public result.
        func result(_ solution: Solution, weight original: Tensor, hessian: HessianAccumulator) throws(QuantError)
            -> Result
        {
            let (m, n) = (outFeatures, inFeatures)
            var codes = [Int32](repeating: 0, count: m * n)
            for p in 0..<n {
                let column = permutation[p]
                for r in 0..<m { codes[r * n + column] = solution.codes[p * m + r] }
            }
            var scales = [Float](repeating: 0, count: m * groupCount)
            var zeroPoints = [Int32](repeating: 0, count: m * groupCount)
            for k in 0..<groupCount {
                for r in 0..<m {
                    scales[r * groupCount + k] = solution.scales[k * m + r]
                    zeroPoints[r * groupCount + k] = solution.zeroPoints[k * m + r]
                }
            }
            let parameters = try QuantParameters(
                granularity: scheme.granularity, axis: 0, groupSize: scheme.groupSize, shape: [m, n], scales: scales,
                zeroPoints: zeroPoints)
            let quantized = QuantizedTensor(
                scheme: scheme, shape: [m, n], codes: BitPacking.pack(codes, bitWidth: scheme.dataType.bitWidth),
                parameters: parameters, blockScales: [])
            let dequantized = try quantized.dequantized()
            let rtn = try TensorQuantizer.fakeQuantize(original, scheme: scheme)
            let h = hessian.matrix()
            return Result(
                quantized: quantized, weight: dequantized,
                loss: Self.proxyLoss(original, dequantized, hessian: h),
                rtnLoss: Self.proxyLoss(original, rtn, hessian: h), dampening: dampening)
        }

        /// `tr((W − Q) · H · (W − Q)ᵀ) / outFeatures`: `2/n · ‖(W − Q)·Xᵀ‖² / outFeatures` on the calibration inputs.
        static func proxyLoss(_ w: Tensor, _ q: Tensor, hessian h: Tensor) -> Double {
            let (m, n) = (w.shape[0], w.shape[1])
            var difference = [Float](repeating: 0, count: m * n)
            for i in 0..<(m * n) { difference[i] = w.scalars[i] - q.scalars[i] }
            var product = [Float](repeating: 0, count: m * n)
            difference.withUnsafeBufferPointer { d in
                h.scalars.withUnsafeBufferPointer { hp in
                    product.withUnsafeMutableBufferPointer { p in
                        // H is symmetric, so D · Hᵀ = D · H.
                        BLAS.parallelMatmulTransposed(
                            m: m, n: n, k: n, a: d.baseAddress!, lda: n, b: hp.baseAddress!, ldb: n,
                            c: p.baseAddress!, ldc: n)
                    }
                }
            }
            var sum = 0.0
            for i in 0..<(m * n) { sum += Double(difference[i]) * Double(product[i]) }
            return sum / Double(m)
        }
    }

    /// What a solver produces: codes in processing order, transposed `[inFeatures, outFeatures]`, and the parameters
    /// per natural group, transposed `[groupCount, outFeatures]`.
    struct Solution {
        var codes: [Int32]
        var scales: [Float]
        var zeroPoints: [Int32]
    }
}
