/// Rounding to the code grid, as a type so each kernel is specialized per rule with no branch in the loop.
protocol RoundingRule {
    static func apply(_ value: Float) -> Float
}

/// IEEE round-half-to-even (`std::nearbyint` in PyTorch's fake-quantize kernels); one `vrndscaleps` per vector.
enum HalfToEvenRule: RoundingRule {
    @inline(__always) static func apply(_ value: Float) -> Float { value.rounded(.toNearestOrEven) }
}

/// Round half away from zero (C `roundf`, NumPy's `np.round` does *not* do this).
enum HalfAwayFromZeroRule: RoundingRule {
    @inline(__always) static func apply(_ value: Float) -> Float { value.rounded(.toNearestOrAwayFromZero) }
}

/// Round toward −∞.
enum FloorRule: RoundingRule {
    @inline(__always) static func apply(_ value: Float) -> Float { value.rounded(.down) }
}

/// Buffer kernels for affine (fake-)quantization. Each loop is a plain scalar loop over contiguous memory that LLVM
/// auto-vectorizes (AVX-512 with `-march=native`); none allocates. Non-finite inputs are detected by OR-ing exponent
/// bits (an integer max-reduction that vectorizes) and reported by the callers.
enum AffineKernels {
    /// Exponent bits of ±infinity and NaN.
    static let nonFiniteExponent: UInt32 = 0x7F80_0000
    /// 1.5 · 2²³: adding it to an integral float |r| < 2²² leaves r in the low mantissa bits (exact int conversion).
    static let magic: Float = 12_582_912

    /// `dst[i] = (round(clamp(src[i] · inv, lower, upper)) + 0) · scale`; returns the largest exponent field seen
    /// (== `nonFiniteExponent` when a NaN or infinity was read). `src` and `dst` may be the same buffer.
    @inline(__always)
    static func fakeQuantize<R: RoundingRule>(
        _: R.Type, _ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, count: Int, _ run: RunParameters
    ) -> UInt32 {
        let inverse = run.inverseScale
        let scale = run.scale
        let lower = run.lower
        let upper = run.upper
        var exponent: UInt32 = 0
        for i in 0..<count {
            let x = src[i]
            exponent = max(exponent, x.bitPattern & nonFiniteExponent)
            let clamped = min(max(x * inverse, lower), upper)
            // "+ 0" turns −0 into +0, as PyTorch's integer round trip does.
            dst[i] = (R.apply(clamped) + 0) * scale
        }
        return exponent
    }

    /// Codes `q = round(clamp(src[i] · inv, lower, upper)) + zeroPoint`; returns the largest exponent field seen.
    @inline(__always)
    static func quantize<R: RoundingRule>(
        _: R.Type, _ src: UnsafePointer<Float>, _ codes: UnsafeMutablePointer<Int32>, count: Int, _ run: RunParameters
    ) -> UInt32 {
        let inverse = run.inverseScale
        let lower = run.lower
        let upper = run.upper
        let zeroPoint = run.zeroPoint
        let magicBits = Int32(bitPattern: magic.bitPattern)
        var exponent: UInt32 = 0
        for i in 0..<count {
            let x = src[i]
            exponent = max(exponent, x.bitPattern & nonFiniteExponent)
            let rounded = R.apply(min(max(x * inverse, lower), upper))
            codes[i] = (Int32(bitPattern: (rounded + magic).bitPattern) &- magicBits) &+ zeroPoint
        }
        return exponent
    }

    /// `dst[i] = Float(codes[i] − zeroPoint) · scale`.
    @inline(__always)
    static func dequantize(
        _ codes: UnsafePointer<Int32>, _ dst: UnsafeMutablePointer<Float>, count: Int, scale: Float, zeroPoint: Int32
    ) {
        for i in 0..<count { dst[i] = Float(codes[i] &- zeroPoint) * scale }
    }

    /// Per-element parameters (per-channel along the last axis): `run` arrays are indexed like the row.
    @inline(__always)
    static func fakeQuantizeRow<R: RoundingRule>(
        _: R.Type, _ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, count: Int, _ row: RowParameters
    ) -> UInt32 {
        var exponent: UInt32 = 0
        for j in 0..<count {
            let x = src[j]
            exponent = max(exponent, x.bitPattern & nonFiniteExponent)
            let clamped = min(max(x * row.inverseScales[j], row.lowers[j]), row.uppers[j])
            dst[j] = (R.apply(clamped) + 0) * row.scales[j]
        }
        return exponent
    }

    /// Per-element codes (per-channel along the last axis).
    @inline(__always)
    static func quantizeRow<R: RoundingRule>(
        _: R.Type, _ src: UnsafePointer<Float>, _ codes: UnsafeMutablePointer<Int32>, count: Int, _ row: RowParameters
    ) -> UInt32 {
        let magicBits = Int32(bitPattern: magic.bitPattern)
        var exponent: UInt32 = 0
        for j in 0..<count {
            let x = src[j]
            exponent = max(exponent, x.bitPattern & nonFiniteExponent)
            let rounded = R.apply(min(max(x * row.inverseScales[j], row.lowers[j]), row.uppers[j]))
            codes[j] = (Int32(bitPattern: (rounded + magic).bitPattern) &- magicBits) &+ row.zeroPoints[j]
        }
        return exponent
    }

    /// Per-element dequantization (per-channel along the last axis).
    @inline(__always)
    static func dequantizeRow(
        _ codes: UnsafePointer<Int32>, _ dst: UnsafeMutablePointer<Float>, count: Int, _ row: RowParameters
    ) {
        for j in 0..<count { dst[j] = Float(codes[j] &- row.zeroPoints[j]) * row.scales[j] }
    }

    /// Minimum, maximum and largest exponent field of `count` values and `seed` (quantization passes 0, which every
    /// range includes anyway; observers pass the first value).
    static func extrema(
        _ src: UnsafePointer<Float>, count: Int, seed: Float = 0
    ) -> (minimum: Float, maximum: Float, exponent: UInt32) {
        var low = SIMD16<Float>(repeating: seed)
        var high = SIMD16<Float>(repeating: seed)
        var exponents = SIMD16<UInt32>(repeating: 0)
        let mask = SIMD16<UInt32>(repeating: nonFiniteExponent)
        var i = 0
        let raw = UnsafeRawPointer(src)
        while i + 16 <= count {
            let v = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
            low = low.replacing(with: v, where: v .< low)
            high = high.replacing(with: v, where: v .> high)
            let bits = unsafeBitCast(v, to: SIMD16<UInt32>.self) & mask
            exponents = exponents.replacing(with: bits, where: bits .> exponents)
            i += 16
        }
        var minimum = horizontalMinimum(low)
        var maximum = -horizontalMinimum(-high)
        var exponent = horizontalMaximum(exponents)
        while i < count {
            let x = src[i]
            minimum = min(minimum, x)
            maximum = max(maximum, x)
            exponent = max(exponent, x.bitPattern & nonFiniteExponent)
            i += 1
        }
        return (minimum, maximum, exponent)
    }

    /// Smallest lane, by halving (the standard library's `min()` spills the vector and walks the lanes: 5x slower on
    /// short runs such as groups of 32).
    @inline(__always)
    static func horizontalMinimum(_ v: SIMD16<Float>) -> Float {
        var v8 = v.lowHalf
        v8 = v8.replacing(with: v.highHalf, where: v.highHalf .< v8)
        var v4 = v8.lowHalf
        v4 = v4.replacing(with: v8.highHalf, where: v8.highHalf .< v4)
        var v2 = v4.lowHalf
        v2 = v2.replacing(with: v4.highHalf, where: v4.highHalf .< v2)
        return min(v2[0], v2[1])
    }

    /// Largest lane, by halving.
    @inline(__always)
    static func horizontalMaximum(_ v: SIMD16<UInt32>) -> UInt32 {
        var v8 = v.lowHalf
        v8 = v8.replacing(with: v.highHalf, where: v.highHalf .> v8)
        var v4 = v8.lowHalf
        v4 = v4.replacing(with: v8.highHalf, where: v8.highHalf .> v4)
        var v2 = v4.lowHalf
        v2 = v2.replacing(with: v4.highHalf, where: v4.highHalf .> v2)
        return max(v2[0], v2[1])
    }

    /// Column-wise running extrema of one row: `minimum[j] = min(minimum[j], src[j])`, likewise maximum.
    @inline(__always)
    static func accumulateColumnExtrema(
        _ src: UnsafePointer<Float>, count: Int, _ minimum: UnsafeMutablePointer<Float>,
        _ maximum: UnsafeMutablePointer<Float>
    ) -> UInt32 {
        var exponent: UInt32 = 0
        for j in 0..<count {
            let x = src[j]
            exponent = max(exponent, x.bitPattern & nonFiniteExponent)
            minimum[j] = min(minimum[j], x)
            maximum[j] = max(maximum[j], x)
        }
        return exponent
    }

    /// Index of the first NaN or infinity, if any.
    static func firstNonFinite(_ src: UnsafePointer<Float>, count: Int) -> Int? {
        for i in 0..<count where !src[i].isFinite { return i }
        return nil
    }
}

/// Per-element parameter arrays for one row of a per-channel (last axis) layout, built once per call.
struct RowParameters {
    var scales: UnsafePointer<Float>
    var inverseScales: UnsafePointer<Float>
    var lowers: UnsafePointer<Float>
    var uppers: UnsafePointer<Float>
    var zeroPoints: UnsafePointer<Int32>
}
