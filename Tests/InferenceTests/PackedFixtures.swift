import Inference
import TensorCore

/// Seeded random packed weights and inputs for the packed-kernel tests.
enum PackedFixtures {
    /// Codes and parameters of one random weight, kept to rebuild the expected dequantized values.
    struct Weight {
        var packed: PackedWeight
        var codes: [UInt8]
        var scales: [Float]
        var offsets: [Float]
    }

    static func uniform(_ rng: inout SplitMix64, _ low: Float, _ high: Float) -> Float {
        low + (high - low) * Float(rng.next() >> 40) / Float(1 << 24)
    }

    /// Whether `seed`'s weight has parameters that are exact halves (stored as half bits by PackedWeight).
    static func hasHalfParameters(seed: UInt64) -> Bool { seed % 4 >= 2 }

    /// A random weight of `format`; uint4 alternates symmetric (offset −8·scale, none stored) and asymmetric
    /// offsets by seed, and seeds 2, 3 (mod 4) round the parameters to halves (so they are stored as halves).
    static func weight(
        _ format: PackedWeight.Format, outFeatures: Int, inFeatures: Int, groupSize: Int, seed: UInt64
    ) throws -> Weight {
        var rng = SplitMix64(seed: seed)
        let groups = (inFeatures + min(groupSize, inFeatures) - 1) / min(groupSize, inFeatures)
        let halves = hasHalfParameters(seed: seed)
        let toHalf: (Float) -> Float = { halves ? Float(Float16($0)) : $0 }
        let scales = (0..<(outFeatures * groups)).map { _ in toHalf(uniform(&rng, 0.001, 0.02)) }
        switch format {
        case .int8:
            let codes = (0..<(outFeatures * inFeatures)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            let packed = try PackedWeight(
                int8: codes.map { Int8(bitPattern: $0) }, scales: scales, outFeatures: outFeatures,
                inFeatures: inFeatures, groupSize: groupSize)
            return Weight(packed: packed, codes: codes, scales: scales, offsets: [])
        case .uint4:
            let codes = (0..<(outFeatures * inFeatures)).map { _ in UInt8(rng.next() & 15) }
            let symmetric = seed % 2 == 0
            let offsets = scales.map { symmetric ? -8 * $0 : toHalf(-$0 * Float(rng.next() % 16)) }
            let packed = try PackedWeight(
                uint4: codes, scales: scales, offsets: offsets, outFeatures: outFeatures, inFeatures: inFeatures,
                groupSize: groupSize)
            return Weight(packed: packed, codes: codes, scales: scales, offsets: offsets)
        case .fp8e4m3:
            let codes = (0..<(outFeatures * inFeatures)).map { _ in
                var code = UInt8(truncatingIfNeeded: rng.next())
                if code & 0x7F == 0x7F { code ^= 1 }  // no NaN codes
                return code
            }
            let packed = try PackedWeight(
                fp8e4m3: codes, scales: scales, outFeatures: outFeatures, inFeatures: inFeatures, groupSize: groupSize)
            return Weight(packed: packed, codes: codes, scales: scales, offsets: [])
        }
    }

    /// |w| per element of the terms the kernels add: |scale · q| + |offset| for uint4 (they compute scale · Σ x·q +
    /// offset · Σ x, which does not cancel to 0 where scale · q + offset does), |ŵ| otherwise; `[out, in]`.
    static func termMagnitudes(_ w: Weight) -> [Float] {
        let packed = w.packed
        guard packed.format == .uint4 else { return packed.dequantized().map(abs) }
        var result = [Float](repeating: 0, count: packed.outFeatures * packed.inFeatures)
        for out in 0..<packed.outFeatures {
            for k in 0..<packed.inFeatures {
                let index = out * packed.groupCount + k / packed.groupSize
                result[out * packed.inFeatures + k] =
                    abs(w.scales[index] * Float(w.codes[out * packed.inFeatures + k])) + abs(w.offsets[index])
            }
        }
        return result
    }

    /// `[rows, columns]` activations: mostly in [-2, 2] with a few outliers and, in row 1, an all-zero row.
    static func input(rows: Int, columns: Int, seed: UInt64) -> [Float] {
        var rng = SplitMix64(seed: seed ^ 0x9E37_79B9_7F4A_7C15)
        var values = (0..<(rows * columns)).map { _ in uniform(&rng, -2, 2) }
        for row in 0..<rows where columns > 3 { values[row * columns + Int(rng.next() % UInt64(columns))] *= 20 }
        if rows > 1 { for column in 0..<columns { values[columns + column] = 0 } }
        return values
    }

    /// Σ |x̂| · |ŵ| per output: the scale of the float summation-order error of one output.
    static func magnitudes(weight: [Float], input: [Float], rows: Int, outFeatures: Int, inFeatures: Int) -> [Float] {
        var result = [Float](repeating: 0, count: rows * outFeatures)
        for row in 0..<rows {
            for out in 0..<outFeatures {
                var sum: Float = 0
                for k in 0..<inFeatures { sum += abs(input[row * inFeatures + k] * weight[out * inFeatures + k]) }
                result[row * outFeatures + out] = sum
            }
        }
        return result
    }

    /// Largest |a − b| / (magnitude + 1e-30) and where it is.
    static func worstRelative(_ a: [Float], _ b: [Float], magnitudes: [Float]) -> (error: Float, index: Int) {
        var worst: (Float, Int) = (0, -1)
        for i in a.indices {
            let error = abs(a[i] - b[i]) / (magnitudes[i] + 1e-30)
            if !(error <= worst.0) { worst = (error, i) }
        }
        return worst
    }
}
