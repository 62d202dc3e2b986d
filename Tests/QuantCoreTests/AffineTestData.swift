import Foundation
import QuantCore
import TensorCore

/// Deterministic inputs and tolerances for the affine quantizer and observer tests.
enum AffineTestData {
    /// Sizes that include 1, primes and group size ± 1.
    static let sizes = [1, 7, 31, 32, 33, 127, 576]
    static let groupSizes = [32, 64, 128]

    /// A smooth, sign-changing sequence with varying amplitude: `cos(0.37 i + 0.1) · (1 + 0.3 sin(0.11 i)) + offset`.
    static func wave(count: Int, offset: Float = 0, phase: Float = 0) -> [Float] {
        (0..<count).map { i in
            let t = Float(i)
            return Float(cos(Double(0.37 * t + 0.1 + phase))) * (1 + 0.3 * Float(sin(Double(0.11 * t)))) + offset
        }
    }

    /// A `[rows, columns]` tensor whose rows have different scales and offsets.
    static func matrix(rows: Int, columns: Int) -> Tensor {
        var values = [Float]()
        values.reserveCapacity(rows * columns)
        for r in 0..<rows {
            let row = wave(count: columns, offset: 0.2 * Float(r % 3) - 0.2, phase: Float(r))
            values += row.map { $0 * Float(r + 1) * 0.7 }
        }
        return Tensor(shape: [rows, columns], scalars: values)
    }

    /// Uniform values in [−1, 1) from a seeded generator.
    static func uniform(count: Int, seed: UInt64) -> [Float] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in Float(Double(rng.next() >> 40) / Double(1 << 24)) * 2 - 1 }
    }

    /// Approximately normal values (sum of four uniforms, variance 4/3 scaled to 1) from a seeded generator.
    static func gaussian(count: Int, seed: UInt64) -> [Float] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in
            var sum: Float = 0
            for _ in 0..<4 { sum += Float(Double(rng.next() >> 40) / Double(1 << 24)) * 2 - 1 }
            return sum * 0.8660254
        }
    }
}

/// Named tolerances for affine quantization.
enum AffineTolerance {
    /// Slack on the half-step bound, in units of the scale: `x · (1/scale)` carries a relative error of about 2⁻²³
    /// on values up to ~2^(b−1) codes, plus the rounding of the product `code · scale`.
    static let halfStepSlack: Float = 1e-4
    /// Relative float32 rounding allowed on reconstructed values.
    static let float32Rounding: Float = 4 * .ulpOfOne

    /// The largest allowed |x − x̂| for an in-range value quantized with `scale`.
    static func halfStep(_ scale: Float, value: Float) -> Float {
        scale * (0.5 + halfStepSlack) + abs(value) * float32Rounding
    }
}

/// Largest |a − b| and where it is.
func largestDifference(_ a: [Float], _ b: [Float]) -> (difference: Float, index: Int) {
    var best: (Float, Int) = (0, -1)
    for i in a.indices where abs(a[i] - b[i]) > best.0 || a[i].isNaN != b[i].isNaN { best = (abs(a[i] - b[i]), i) }
    return best
}
