/// Building blocks for algorithms that choose integer codes themselves (GPTQ): the scheme's parameter formulas for
/// explicit ranges, and quantization of a vector whose every element has its own scale and zero point. Both use the
/// same `AffineGrid` math and rounding as `parameters(for:scheme:)` and `quantize(_:parameters:scheme:)`, so codes
/// built from them dequantize through `QuantizedTensor` exactly as `TensorQuantizer` output does.
extension AffineQuantizer {
    /// Scale and zero point of each range `[minimum[i], maximum[i]]` (widened to include 0) under an integer scheme:
    /// what `parameters(for:scheme:)` computes from a slot's extrema (symmetry, narrow range, scale type).
    /// - Parameters: all four buffers hold `count` entries; `minimum[i] <= maximum[i]`, both finite.
    /// - Throws: `QuantError.invalidConfiguration` for a non-integer scheme or a scale that overflows its storage type.
    public static func rangeParameters(
        minimum: UnsafePointer<Float>, maximum: UnsafePointer<Float>, count: Int, scheme: QuantScheme,
        scales: UnsafeMutablePointer<Float>, zeroPoints: UnsafeMutablePointer<Int32>
    ) throws(QuantError) {
        let grid = try integerGrid(scheme)
        for i in 0..<count {
            let (scale, zeroPoint) = grid.parameters(minimum: minimum[i], maximum: maximum[i])
            try grid.checkScale(scale, at: i)
            scales[i] = scale
            zeroPoints[i] = zeroPoint
        }
    }

    /// Codes `q[i] = clamp(round(values[i] · (1 / scales[i])) + zeroPoints[i], qmin, qmax)` under the scheme's
    /// rounding rule, and their values `dequantized[i] = (q[i] − zeroPoints[i]) · scales[i]`.
    /// - Returns: false when an input was NaN or infinite (its code is then meaningless; nothing traps).
    /// - Throws: `QuantError.invalidConfiguration` for a non-integer scheme.
    public static func quantizeElementwise(
        _ values: UnsafePointer<Float>, count: Int, scales: UnsafePointer<Float>, zeroPoints: UnsafePointer<Int32>,
        scheme: QuantScheme, codes: UnsafeMutablePointer<Int32>, dequantized: UnsafeMutablePointer<Float>
    ) throws(QuantError) -> Bool {
        let grid = try integerGrid(scheme)
        let exponent =
            switch scheme.rounding {
            case .halfToEven:
                elementwise(HalfToEvenRule.self, values, count, scales, zeroPoints, grid, codes, dequantized)
            case .halfAwayFromZero:
                elementwise(HalfAwayFromZeroRule.self, values, count, scales, zeroPoints, grid, codes, dequantized)
            case .floor: elementwise(FloorRule.self, values, count, scales, zeroPoints, grid, codes, dequantized)
            }
        return exponent != AffineKernels.nonFiniteExponent
    }

    @inline(__always)
    static func elementwise<R: RoundingRule>(
        _: R.Type, _ values: UnsafePointer<Float>, _ count: Int, _ scales: UnsafePointer<Float>,
        _ zeroPoints: UnsafePointer<Int32>, _ grid: AffineGrid, _ codes: UnsafeMutablePointer<Int32>,
        _ dequantized: UnsafeMutablePointer<Float>
    ) -> UInt32 {
        let magic = AffineKernels.magic
        let magicBits = Int32(bitPattern: magic.bitPattern)
        let (qmin, qmax) = (grid.qmin, grid.qmax)
        var exponent: UInt32 = 0
        for i in 0..<count {
            let x = values[i]
            exponent = max(exponent, x.bitPattern & AffineKernels.nonFiniteExponent)
            let zeroPoint = zeroPoints[i]
            // Same float32 reciprocal and clamp-before-round as the tensor kernels (see RunParameters).
            let inverse = 1 / scales[i]
            let rounded = R.apply(min(max(x * inverse, Float(qmin &- zeroPoint)), Float(qmax &- zeroPoint)))
            codes[i] = (Int32(bitPattern: (rounded + magic).bitPattern) &- magicBits) &+ zeroPoint
            dequantized[i] = (rounded + 0) * scales[i]
        }
        return exponent
    }
}
