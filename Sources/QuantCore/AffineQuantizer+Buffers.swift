/// Layout drivers: walk a buffer run by run (or row by row for per-channel along the last axis) and call the kernels.
extension AffineQuantizer {
    /// Fake-quantizes `src` into `dst` (may alias) with fixed parameters; returns the largest exponent field read.
    static func fakeQuantizeBuffer<R: RoundingRule>(
        _ rule: R.Type, _ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, layout: ParameterLayout,
        scales: [Float], zeroPoints: [Int32], grid: AffineGrid
    ) -> UInt32 {
        if case .blocked(let outer, let channels, _) = layout, layout.isElementwise {
            return withRowParameters(scales: scales, zeroPoints: zeroPoints, qmin: grid.qmin, qmax: grid.qmax) { row in
                var exponent: UInt32 = 0
                for o in 0..<outer {
                    let offset = o * channels
                    exponent = max(
                        exponent, AffineKernels.fakeQuantizeRow(rule, src + offset, dst + offset, count: channels, row))
                }
                return exponent
            }
        }
        var exponent: UInt32 = 0
        scales.withUnsafeBufferPointer { scales in
            zeroPoints.withUnsafeBufferPointer { zeroPoints in
                layout.forEachRun { start, count, slot in
                    let run = grid.run(scale: scales[slot], zeroPoint: zeroPoints[slot])
                    exponent = max(
                        exponent, AffineKernels.fakeQuantize(rule, src + start, dst + start, count: count, run))
                }
            }
        }
        return exponent
    }

    /// Quantizes `src` to codes with fixed parameters; returns the largest exponent field read.
    static func quantizeBuffer<R: RoundingRule>(
        _ rule: R.Type, _ src: UnsafePointer<Float>, _ codes: UnsafeMutablePointer<Int32>, layout: ParameterLayout,
        scales: [Float], zeroPoints: [Int32], grid: AffineGrid
    ) -> UInt32 {
        if case .blocked(let outer, let channels, _) = layout, layout.isElementwise {
            return withRowParameters(scales: scales, zeroPoints: zeroPoints, qmin: grid.qmin, qmax: grid.qmax) { row in
                var exponent: UInt32 = 0
                for o in 0..<outer {
                    let offset = o * channels
                    exponent = max(
                        exponent, AffineKernels.quantizeRow(rule, src + offset, codes + offset, count: channels, row))
                }
                return exponent
            }
        }
        var exponent: UInt32 = 0
        scales.withUnsafeBufferPointer { scales in
            zeroPoints.withUnsafeBufferPointer { zeroPoints in
                layout.forEachRun { start, count, slot in
                    let run = grid.run(scale: scales[slot], zeroPoint: zeroPoints[slot])
                    exponent = max(
                        exponent, AffineKernels.quantize(rule, src + start, codes + start, count: count, run))
                }
            }
        }
        return exponent
    }

    /// Dequantizes codes into `dst`.
    static func dequantizeBuffer(
        _ codes: UnsafePointer<Int32>, _ dst: UnsafeMutablePointer<Float>, layout: ParameterLayout, scales: [Float],
        zeroPoints: [Int32]
    ) {
        if case .blocked(let outer, let channels, _) = layout, layout.isElementwise {
            // The clamp bounds are not read when dequantizing.
            withRowParameters(scales: scales, zeroPoints: zeroPoints, qmin: 0, qmax: 0) { row in
                for o in 0..<outer {
                    AffineKernels.dequantizeRow(codes + o * channels, dst + o * channels, count: channels, row)
                }
            }
            return
        }
        scales.withUnsafeBufferPointer { scales in
            zeroPoints.withUnsafeBufferPointer { zeroPoints in
                layout.forEachRun { start, count, slot in
                    AffineKernels.dequantize(
                        codes + start, dst + start, count: count, scale: scales[slot], zeroPoint: zeroPoints[slot])
                }
            }
        }
    }

    /// Per-slot minimum and maximum of a buffer (each starting at 0, which every range includes).
    /// - Throws: `QuantError.nonFiniteInput` naming the first NaN or infinity.
    static func extrema(
        _ src: UnsafePointer<Float>, layout: ParameterLayout, shape: [Int], context: String
    ) throws(QuantError) -> (minimum: [Float], maximum: [Float]) {
        let slots = layout.parameterCount
        var minimum = [Float](repeating: 0, count: slots)
        var maximum = [Float](repeating: 0, count: slots)
        var exponent: UInt32 = 0
        if case .blocked(let outer, let channels, _) = layout, layout.isElementwise {
            minimum.withUnsafeMutableBufferPointer { low in
                maximum.withUnsafeMutableBufferPointer { high in
                    for o in 0..<outer {
                        exponent = max(
                            exponent,
                            AffineKernels.accumulateColumnExtrema(
                                src + o * channels, count: channels, low.baseAddress!, high.baseAddress!))
                    }
                }
            }
        } else {
            minimum.withUnsafeMutableBufferPointer { low in
                maximum.withUnsafeMutableBufferPointer { high in
                    layout.forEachRun { start, count, slot in
                        let e = AffineKernels.extrema(src + start, count: count)
                        exponent = max(exponent, e.exponent)
                        low[slot] = min(low[slot], e.minimum)
                        high[slot] = max(high[slot], e.maximum)
                    }
                }
            }
        }
        if exponent == AffineKernels.nonFiniteExponent {
            throw nonFiniteError(src, count: layout.elementCount, shape: shape, context: context)
        }
        return (minimum, maximum)
    }

    /// Dynamic parameters of a buffer: extrema per slot, then `grid.parameters`.
    static func dynamicParameters(
        _ src: UnsafePointer<Float>, layout: ParameterLayout, grid: AffineGrid, shape: [Int], context: String
    ) throws(QuantError) -> (scales: [Float], zeroPoints: [Int32]) {
        let (minimum, maximum) = try extrema(src, layout: layout, shape: shape, context: context)
        var scales = [Float](repeating: 0, count: minimum.count)
        var zeroPoints = [Int32](repeating: 0, count: minimum.count)
        for slot in minimum.indices {
            (scales[slot], zeroPoints[slot]) = grid.parameters(minimum: minimum[slot], maximum: maximum[slot])
        }
        try grid.checkScales(scales)
        return (scales, zeroPoints)
    }

    /// Fake-quantizes with parameters computed from the data itself. When each slot's elements form a single run
    /// (per tensor, per token, per group, per channel along axis 0) parameters and quantization are fused run by run
    /// while the run is in cache; otherwise a statistics pass precedes the quantization pass. Checks every run before
    /// writing it, so `src == dst` is allowed and a throw leaves earlier runs quantized and later ones untouched.
    /// - Throws: `QuantError.nonFiniteInput` naming the first NaN or infinity; `.invalidConfiguration` for a scale
    ///   that overflows its storage type.
    static func fakeQuantizeDynamicBuffer<R: RoundingRule>(
        _ rule: R.Type, _ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, layout: ParameterLayout,
        grid: AffineGrid, shape: [Int], context: String
    ) throws(QuantError) {
        let fusable: Bool
        switch layout {
        case .grouped: fusable = true
        // Per-channel along the last axis of a single row would fuse into one-element runs: use the row kernels.
        case .blocked(let outer, _, _): fusable = outer == 1 && !layout.isElementwise
        }
        guard fusable else {
            let (scales, zeroPoints) = try dynamicParameters(
                src, layout: layout, grid: grid, shape: shape, context: context)
            _ = fakeQuantizeBuffer(rule, src, dst, layout: layout, scales: scales, zeroPoints: zeroPoints, grid: grid)
            return
        }
        try layout.forEachRun { start, count, slot throws(QuantError) in
            let e = AffineKernels.extrema(src + start, count: count)
            if e.exponent == AffineKernels.nonFiniteExponent {
                throw nonFiniteError(src, count: layout.elementCount, shape: shape, context: context)
            }
            let (scale, zeroPoint) = grid.parameters(minimum: e.minimum, maximum: e.maximum)
            try grid.checkScale(scale, at: slot)
            _ = AffineKernels.fakeQuantize(
                rule, src + start, dst + start, count: count, grid.run(scale: scale, zeroPoint: zeroPoint))
        }
    }

    /// Builds the per-element arrays of a per-channel (last axis) layout and passes them to `body`.
    static func withRowParameters<T>(
        scales: [Float], zeroPoints: [Int32], qmin: Int32, qmax: Int32, _ body: (RowParameters) -> T
    ) -> T {
        let inverses = scales.map { 1 / $0 }
        let lowers = zeroPoints.map { Float(qmin &- $0) }
        let uppers = zeroPoints.map { Float(qmax &- $0) }
        return scales.withUnsafeBufferPointer { s in
            inverses.withUnsafeBufferPointer { i in
                lowers.withUnsafeBufferPointer { l in
                    uppers.withUnsafeBufferPointer { u in
                        zeroPoints.withUnsafeBufferPointer { z in
                            body(
                                RowParameters(
                                    scales: s.baseAddress!, inverseScales: i.baseAddress!, lowers: l.baseAddress!,
                                    uppers: u.baseAddress!, zeroPoints: z.baseAddress!))
                        }
                    }
                }
            }
        }
    }

    /// The error for the first non-finite element of a buffer, with its multi-index in `shape`.
    static func nonFiniteError(_ src: UnsafePointer<Float>, count: Int, shape: [Int], context: String) -> QuantError {
        guard let index = AffineKernels.firstNonFinite(src, count: count) else {
            return .nonFiniteInput("\(context): non-finite value in a tensor of shape \(shape)")
        }
        var coordinates = [Int](repeating: 0, count: shape.count)
        var rest = index
        for axis in shape.indices.reversed() where shape[axis] > 0 {
            coordinates[axis] = rest % shape[axis]
            rest /= shape[axis]
        }
        return .nonFiniteInput("\(context): element \(index) (index \(coordinates)) of shape \(shape) is \(src[index])")
    }
}
