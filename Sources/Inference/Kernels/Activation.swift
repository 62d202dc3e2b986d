import Foundation

/// Elementwise kernels of the decoder, over raw buffers (hot loops stay out of generic code).
public enum Activation {
    /// exp(x) for 16 lanes: range reduction x = n·ln2 + r, |r| ≤ ln2/2, a degree-6 polynomial for e^r, then scaling
    /// by 2^n through the exponent bits. Relative error under 2e-7 for x in [-87, 88]; below -87 it returns 0.
    @inline(__always)
    public static func exp(_ x: SIMD16<Float>) -> SIMD16<Float> {
        let clamped = x.clamped(lowerBound: SIMD16(repeating: -87.3), upperBound: SIMD16(repeating: 88.7))
        // Adding 1.5·2^23 rounds x·log2(e) to the nearest integer n (ties to even) and leaves n in the low mantissa
        // bits; the standard library's float→int vector conversion is an out-of-line call and would cost 10x more.
        let magic = SIMD16<Float>(repeating: 12_582_912)
        let shifted = clamped * 1.442_695_04 + magic
        let n = shifted - magic
        let integer = unsafeBitCast(shifted, to: SIMD16<Int32>.self) &- unsafeBitCast(magic, to: SIMD16<Int32>.self)
        // ln2 split in a high and a low part keeps r exact to float precision (Cody–Waite).
        let r = clamped - n * 0.693_145_751_953_125 - n * 1.428_606_765_330_187e-6
        var p = SIMD16<Float>(repeating: 1.0 / 720)
        p = p * r + 1.0 / 120
        p = p * r + 1.0 / 24
        p = p * r + 1.0 / 6
        p = p * r + 0.5
        p = p * r + 1
        p = p * r + 1
        let scale = unsafeBitCast((integer &+ 127) &<< 23, to: SIMD16<Float>.self)
        var result = p * scale
        result.replace(with: 0, where: x .< -87.3)
        return result
    }

    /// Scalar exp with the same algorithm, for tails.
    @inline(__always)
    public static func exp(_ x: Float) -> Float { exp(SIMD16(repeating: x))[0] }

    /// In-place softmax of `count` values. Returns log(sum(exp(x − max))) + max (the log-partition).
    @discardableResult
    public static func softmax(_ values: UnsafeMutablePointer<Float>, count: Int) -> Float {
        let maximum = Self.maximum(values, count: count)
        var sum: Float = 0
        var i = 0
        var acc = SIMD16<Float>(repeating: 0)
        while i + 16 <= count {
            let e = exp(UnsafeRawPointer(values + i).loadUnaligned(as: SIMD16<Float>.self) - maximum)
            UnsafeMutableRawPointer(values + i).storeBytes(of: e, as: SIMD16<Float>.self)
            acc += e
            i += 16
        }
        sum = acc.sum()
        while i < count {
            let e = exp(values[i] - maximum)
            values[i] = e
            sum += e
            i += 1
        }
        let inverse = 1 / sum
        var j = 0
        while j + 16 <= count {
            let v = UnsafeRawPointer(values + j).loadUnaligned(as: SIMD16<Float>.self) * inverse
            UnsafeMutableRawPointer(values + j).storeBytes(of: v, as: SIMD16<Float>.self)
            j += 16
        }
        while j < count { values[j] *= inverse; j += 1 }
        return maximum + Float(Foundation.log(Double(sum)))
    }

    /// The largest of `count` values (−∞ when empty). A scalar `max` reduction does not vectorize (it is not
    /// associative for NaN), so lanes are compared explicitly.
    @inline(__always)
    public static func maximum(_ values: UnsafePointer<Float>, count: Int) -> Float {
        var lanes = SIMD16<Float>(repeating: -.infinity)
        var i = 0
        while i + 16 <= count {
            let v = UnsafeRawPointer(values + i).loadUnaligned(as: SIMD16<Float>.self)
            lanes.replace(with: v, where: v .> lanes)
            i += 16
        }
        var result = -Float.infinity
        for lane in 0..<16 where lanes[lane] > result { result = lanes[lane] }
        while i < count {
            if values[i] > result { result = values[i] }
            i += 1
        }
        return result
    }

    /// gate[i] = silu(gate[i]) · up[i] (SwiGLU), silu(x) = x / (1 + e^−x).
    public static func swiGLU(gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, count: Int) {
        var i = 0
        while i + 16 <= count {
            let g = UnsafeRawPointer(gate + i).loadUnaligned(as: SIMD16<Float>.self)
            let u = UnsafeRawPointer(up + i).loadUnaligned(as: SIMD16<Float>.self)
            let s = g / (1 + exp(-g)) * u
            UnsafeMutableRawPointer(gate + i).storeBytes(of: s, as: SIMD16<Float>.self)
            i += 16
        }
        while i < count {
            gate[i] = gate[i] / (1 + exp(-gate[i])) * up[i]
            i += 1
        }
    }

    /// out = x · rsqrt(mean(x²) + ε) · weight for one row of `count` values (RMSNorm, Zhang & Sennrich 2019).
    public static func rmsNorm(
        _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, epsilon: Float, count: Int, into out: UnsafeMutablePointer<Float>
    ) {
        var acc = SIMD16<Float>(repeating: 0)
        var i = 0
        while i + 16 <= count {
            let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self)
            acc += v * v
            i += 16
        }
        var sum = acc.sum()
        while i < count { sum += x[i] * x[i]; i += 1 }
        let scale = 1 / (sum / Float(count) + epsilon).squareRoot()
        for j in 0..<count { out[j] = (x[j] * scale) * weight[j] }
    }
}
