import ModelFormats

/// Float weights to K-quant super-blocks the way llama.cpp's reference quantizers do it, operation for operation so
/// the bytes are identical (ggml-quants.c `quantize_row_q4_K_ref`, `_q5_K_ref`, `_q6_K_ref`, no importance matrix,
/// which is also what `llama-quantize` runs without `--imatrix`):
///
/// - Q4_K / Q5_K: each sub-block of 32 gets a scale and minimum from `make_qkx2_quants` (a weighted least-squares
///   search over 21 / 16 candidate scales, weights avₓ + |x| with avₓ the sub-block's RMS; the minimum is never above
///   0); the eight scales and eight minimums are then quantized to 6 bits against the largest of each
///   (d = max scale / 63, dmin = max minimum / 63, both stored in float16), and every code is re-chosen against the
///   stored sub-block scale d·sc and minimum dmin·m.
/// - Q6_K: each sub-block of 16 gets a signed scale from `make_qx_quants` (weights x², 19 candidates around
///   −32 / max); the sixteen scales are quantized to int8 against the one of largest magnitude (d = max / −128) and
///   the codes re-chosen against d·sc.
///
/// Rounding is `nearest_int`'s (add 1.5·2²³, keep the mantissa: ties to even), reproduced bit for bit.
enum GGMLKQuantReferenceQuantizer {
    /// ggml's `GROUP_MAX_EPS`: a sub-block whose largest magnitude is below it is all zeros.
    static let groupMaximumEpsilon: Float = 1e-15

    /// ggml's `nearest_int`: round to nearest, ties to even, for |x| ≤ 4194303 (beyond it, the same wrapped value C
    /// computes, so even degenerate blocks match byte for byte).
    @inline(__always)
    static func nearestInt(_ x: Float) -> Int32 {
        let shifted = x + 12_582_912
        return Int32(bitPattern: shifted.bitPattern & 0x007F_FFFF) - 0x0040_0000
    }

    /// Appends the encoding of `values` (a whole number of super-blocks) as `type`.
    static func appendRow(_ type: GGMLType, _ values: [Float], to out: inout [UInt8]) {
        let n = GGMLKQuantEncoder.superBlockElementCount
        precondition(values.count % n == 0)
        for start in stride(from: 0, to: values.count, by: n) {
            let block = Array(values[start..<(start + n)])
            switch type {
            case .q4_K, .q5_K: appendBlockWithMinimums(type, block, to: &out)
            case .q6_K: appendQ6KBlock(block, to: &out)
            default: preconditionFailure("GGMLKQuantReferenceQuantizer: \(type.name) is not a K-quant")
            }
        }
    }

    /// `quantize_row_q4_K_ref` / `quantize_row_q5_K_ref` for one super-block.
    static func appendBlockWithMinimums(_ type: GGMLType, _ x: [Float], to out: inout [UInt8]) {
        let nmax: Int32 = type == .q4_K ? 15 : 31
        let (rmin, nstep): (Float, Int) = type == .q4_K ? (-1, 20) : (-0.5, 15)
        var codes = [Int32](repeating: 0, count: 256)
        var scales = [Float](repeating: 0, count: 8), minimums = [Float](repeating: 0, count: 8)
        var maxScale: Float = 0, maxMinimum: Float = 0
        for j in 0..<8 {
            let sub = Array(x[(32 * j)..<(32 * j + 32)])
            var sumX2: Float = 0
            for v in sub { sumX2 += v * v }
            let averageX = (sumX2 / 32).squareRoot()
            let weights = sub.map { averageX + abs($0) }
            let (scale, minimum, levels) = makeQKX2Quants(
                nmax: nmax, sub, weights: weights, rmin: rmin, rdelta: 0.1, nstep: nstep)
            for l in 0..<32 { codes[32 * j + l] = levels[l] }
            scales[j] = scale
            minimums[j] = minimum
            if scale > maxScale { maxScale = scale }
            if minimum > maxMinimum { maxMinimum = minimum }
        }
        let inverseScale: Float = maxScale > 0 ? 63 / maxScale : 0
        let inverseMinimum: Float = maxMinimum > 0 ? 63 / maxMinimum : 0
        // C stores nearest_int's int in a uint8_t, then takes MIN(63, ·).
        let ls = scales.map { min(63, UInt8(truncatingIfNeeded: nearestInt(inverseScale * $0))) }
        let lm = minimums.map { min(63, UInt8(truncatingIfNeeded: nearestInt(inverseMinimum * $0))) }
        let d = Float16(maxScale / 63), dmin = Float16(maxMinimum / 63)
        for j in 0..<8 {
            let dj = Float(d) * Float(ls[j])
            if dj == 0 { continue }  // keeps make_qkx2_quants' codes, as C does
            let dm = Float(dmin) * Float(lm[j])
            for l in 0..<32 {
                codes[32 * j + l] = max(0, min(nmax, nearestInt((x[32 * j + l] + dm) / dj)))
            }
        }
        GGMLKQuantEncoder.appendBlock(type, d: d, dmin: dmin, scales: ls, minimums: lm, codes: codes, to: &out)
    }

    /// `quantize_row_q6_K_ref` for one super-block.
    static func appendQ6KBlock(_ x: [Float], to out: inout [UInt8]) {
        var codes = [Int32](repeating: 0, count: 256)
        var scales = [Float](repeating: 0, count: 16)
        var maxScale: Float = 0, maxAbsoluteScale: Float = 0
        for b in 0..<16 {
            let (scale, levels) = makeQXQuants(nmax: 32, Array(x[(16 * b)..<(16 * b + 16)]))
            for l in 0..<16 { codes[16 * b + l] = levels[l] }
            scales[b] = scale
            if abs(scale) > maxAbsoluteScale { (maxAbsoluteScale, maxScale) = (abs(scale), scale) }
        }
        if maxAbsoluteScale < groupMaximumEpsilon {
            out += [UInt8](repeating: 0, count: GGMLType.q6_K.blockLayout.byteCount)
            return
        }
        let inverseScale = -128 / maxScale
        let d = Float16(1 / inverseScale)
        // C stores MIN(127, nearest_int(·)) in an int8_t.
        let stored = scales.map { Int8(truncatingIfNeeded: min(127, nearestInt(inverseScale * $0))) }
        for b in 0..<16 {
            let db = Float(d) * Float(stored[b])
            if db == 0 { continue }
            for l in 0..<16 { codes[16 * b + l] = max(-32, min(31, nearestInt(x[16 * b + l] / db))) + 32 }
        }
        GGMLKQuantEncoder.appendQ6KBlock(d: d, scales: stored, codes: codes, to: &out)
    }

    /// ggml's `make_qkx2_quants` (with `use_mad` false): the scale, the minimum as a value ≥ 0 to subtract
    /// (`the_min`), and codes in 0…nmax.
    static func makeQKX2Quants(
        nmax: Int32, _ x: [Float], weights: [Float], rmin: Float, rdelta: Float, nstep: Int
    ) -> (scale: Float, minimum: Float, codes: [Int32]) {
        let n = x.count
        var minimum = x[0], maximum = x[0]
        var sumW = weights[0]
        var sumX = sumW * x[0]
        for i in 1..<n {
            if x[i] < minimum { minimum = x[i] }
            if x[i] > maximum { maximum = x[i] }
            sumW += weights[i]
            sumX += weights[i] * x[i]
        }
        if minimum > 0 { minimum = 0 }
        var codes = [Int32](repeating: 0, count: n)
        if maximum == minimum { return (0, -minimum, codes) }
        var inverseScale = Float(nmax) / (maximum - minimum)
        var scale = 1 / inverseScale
        var bestError: Float = 0
        for i in 0..<n {
            codes[i] = max(0, min(nmax, nearestInt(inverseScale * (x[i] - minimum))))
            let diff = scale * Float(codes[i]) + minimum - x[i]
            bestError += weights[i] * (diff * diff)
        }
        var trial = [Int32](repeating: 0, count: n)
        for step in 0...nstep {
            inverseScale = (rmin + rdelta * Float(step) + Float(nmax)) / (maximum - minimum)
            var sumL: Float = 0, sumL2: Float = 0, sumXL: Float = 0
            for i in 0..<n {
                let l = max(0, min(nmax, nearestInt(inverseScale * (x[i] - minimum))))
                trial[i] = l
                let w = weights[i], fl = Float(l)
                sumL += w * fl
                sumL2 += w * fl * fl
                sumXL += w * fl * x[i]
            }
            let D = sumW * sumL2 - sumL * sumL
            guard D > 0 else { continue }
            var thisScale = (sumW * sumXL - sumX * sumL) / D
            var thisMinimum = (sumL2 * sumX - sumL * sumXL) / D
            if thisMinimum > 0 {
                thisMinimum = 0
                thisScale = sumXL / sumL2
            }
            var error: Float = 0
            for i in 0..<n {
                let diff = thisScale * Float(trial[i]) + thisMinimum - x[i]
                error += weights[i] * (diff * diff)
            }
            if error < bestError {
                codes = trial
                bestError = error
                scale = thisScale
                minimum = thisMinimum
            }
        }
        return (scale, -minimum, codes)
    }

    /// ggml's `make_qx_quants` with `rmse_type` 1 and no importance weights: a signed scale and codes in 0…2·nmax − 1
    /// (code − nmax is the signed level).
    static func makeQXQuants(nmax: Int32, _ x: [Float]) -> (scale: Float, codes: [Int32]) {
        let n = x.count
        var maximum: Float = 0, amax: Float = 0
        for v in x where abs(v) > amax { (amax, maximum) = (abs(v), v) }
        var codes = [Int32](repeating: 0, count: n)
        if amax < groupMaximumEpsilon { return (0, codes) }
        func level(_ inverseScale: Float, _ v: Float) -> Int32 { max(-nmax, min(nmax - 1, nearestInt(inverseScale * v))) }
        var inverseScale = Float(-nmax) / maximum
        var sumLX: Float = 0, sumL2: Float = 0
        for i in 0..<n {
            let l = level(inverseScale, x[i])
            codes[i] = l + nmax
            let w = x[i] * x[i], fl = Float(l)
            sumLX += w * x[i] * fl
            sumL2 += w * fl * fl
        }
        var scale: Float = sumL2 != 0 ? sumLX / sumL2 : 0
        var best = scale * sumLX
        for step in -9...9 where step != 0 {
            inverseScale = -(Float(nmax) + 0.1 * Float(step)) / maximum
            sumLX = 0
            sumL2 = 0
            for i in 0..<n {
                let l = level(inverseScale, x[i])
                let w = x[i] * x[i], fl = Float(l)
                sumLX += w * x[i] * fl
                sumL2 += w * fl * fl
            }
            if sumL2 > 0 && sumLX * sumLX > best * sumL2 {
                for i in 0..<n { codes[i] = level(inverseScale, x[i]) + nmax }
                scale = sumLX / sumL2
                best = scale * sumLX
            }
        }
        return (scale, codes)
    }
}
