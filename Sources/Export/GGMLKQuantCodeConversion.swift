import ModelFormats
import QuantCore

/// Writes a quantized weight's own codes as K-quant super-blocks (`GGMLTypeMapping.carriesCodes`): the codes GPTQ or
/// AWQ chose are kept, and each group's scale (and minimum) is re-quantized to the K-quant's sub-block grid.
///
/// Per super-block of 256 (ggml's own rule for the super-block scales, applied to Quanta's group scales s_j):
/// - Q4_K / Q5_K: d = max_j s_j / 63 and dmin = max_j m_j / 63 in float16, with m_j = (zp_j − qmin)·s_j the value
///   subtracted; sc_j and mn_j in 0…63 are the pair among the neighbours of s_j / d and m_j / dmin (±1) whose codes
///   decode closest, in least squares, to Quanta's values in the sub-block.
/// - Q6_K: d = −max_j s_j / 128 in float16 (ggml's sign convention), sc_j in −128…127 likewise from the neighbours of
///   s_j / d.
///
/// Each code is the nearest one to Quanta's value w = (q − zp)·s_j under the stored sub-block scale and minimum. Where d·sc_j is close to s_j this gives back the saved code; a group whose scale is small next to the
/// super-block's largest has a coarse sc_j, and the nearest code under it bounds the change at half a stored step.
/// A sub-block whose stored scale is 0 decodes to its minimum. The returned `WeightChange` compares the decoded
/// weights with Quanta's, in units of Quanta's step s_j.
public enum GGMLKQuantCodeConversion {
    /// The super-blocks of `quantized` as `type`, in Hugging Face row order, and what the scale re-quantization changed.
    /// - Throws: `ExportError.unsupportedModel` when a saved code does not fit the type or a scale overflows float16.
    /// - Precondition: `GGMLTypeMapping.carriesCodes(quantized.scheme, shape: quantized.shape, into: type)`.
    public static func encode(_ quantized: QuantizedTensor, as type: GGMLType, name: String) throws(ExportError)
        -> (bytes: [UInt8], change: WeightChange)
    {
        let scheme = quantized.scheme
        precondition(GGMLTypeMapping.carriesCodes(scheme, shape: quantized.shape, into: type))
        let saved = try SavedCodes(quantized, name: name)
        let (parameters, codes, rows, rowLength, qmin) = (saved.parameters, saved.codes, saved.rows, saved.rowLength, saved.qmin)
        let slot = saved.slot
        let superBlock = GGMLKQuantEncoder.superBlockElementCount
        let subBlock = GGMLKQuantEncoder.subBlockElementCount(type)
        let subBlockCount = superBlock / subBlock
        var out: [UInt8] = []
        out.reserveCapacity(type.byteCount(elementCount: quantized.elementCount) ?? 0)
        var change = WeightChange()
        var stored = [Int32](repeating: 0, count: superBlock)
        for row in 0..<rows {
            for start in stride(from: 0, to: rowLength, by: superBlock) {
                let slots = (0..<subBlockCount).map { slot(row, start + $0 * subBlock) }
                let scales = slots.map { parameters.scales[$0] }
                let range = GGMLKQuantEncoder.codeRange(type)
                var values = [Float](repeating: 0, count: superBlock)
                for i in 0..<superBlock {
                    let s = slots[i / subBlock], zeroPoint = parameters.zeroPoints[s]
                    let q = codes[row * rowLength + start + i]
                    // The stored code Q6_K (q − zp + 32) or Q4_K/Q5_K (q − qmin) would hold unchanged.
                    guard range.contains(type == .q6_K ? q - zeroPoint + 32 : q - qmin) else {
                        throw .unsupportedModel(
                            "\(name): code \(q) with zero point \(zeroPoint) at row \(row) does not fit \(type.name)")
                    }
                    values[i] = Float(q - zeroPoint) * parameters.scales[s]
                }
                if type == .q6_K {
                    let maximum = scales.max() ?? 0
                    let d = Float16(-maximum / 128)
                    guard d.isFinite else {
                        throw .unsupportedModel("\(name): scale \(maximum) of row \(row) overflows float16 (max 65504)")
                    }
                    let dRounded = Float(d)
                    var sc = [Int8](repeating: 0, count: subBlockCount)
                    for j in 0..<subBlockCount where dRounded != 0 {
                        let nearest = Int((scales[j] / dRounded).rounded(.toNearestOrEven))
                        let sub = Array(values[(j * subBlock)..<((j + 1) * subBlock)])
                        let best = (nearest - 1...nearest + 1).filter { (-128...127).contains($0) }.min { a, b in
                            Self.q6KError(sub, step: dRounded * Float(a)) < Self.q6KError(sub, step: dRounded * Float(b))
                        }
                        sc[j] = Int8(best ?? max(-128, min(127, nearest)))
                    }
                    for i in 0..<superBlock {
                        let j = i / subBlock
                        let step = dRounded * Float(sc[j])
                        let q = Self.q6KCode(values[i], step: step)
                        stored[i] = q + 32
                        change.add(original: values[i], exported: dRounded * Float(sc[j]) * Float(q), step: scales[j])
                    }
                    GGMLKQuantEncoder.appendQ6KBlock(d: d, scales: sc, codes: stored, to: &out)
                } else {
                    let minimums = slots.map { Float(parameters.zeroPoints[$0] - qmin) * parameters.scales[$0] }
                    let maxScale = scales.max() ?? 0, maxMinimum = max(0, minimums.max() ?? 0)
                    let d = Float16(maxScale / 63), dmin = Float16(maxMinimum / 63)
                    guard d.isFinite, dmin.isFinite else {
                        throw .unsupportedModel("\(name): scale \(maxScale) of row \(row) overflows float16 (max 65504)")
                    }
                    let (dRounded, dminRounded) = (Float(d), Float(dmin))
                    let top = GGMLKQuantEncoder.codeRange(type).upperBound
                    var sc = [UInt8](repeating: 0, count: subBlockCount), mn = sc
                    for j in 0..<subBlockCount {
                        // The 6-bit multiples next to s_j / d and m_j / dmin: the pair whose nearest codes decode
                        // closest (least squares) to Quanta's values in this sub-block.
                        func around(_ value: Float, _ unit: Float) -> [Int] {
                            guard unit != 0 else { return [0] }
                            let nearest = Int((value / unit).rounded(.toNearestOrEven))
                            return (nearest - 1...nearest + 1).filter { (0...63).contains($0) }
                        }
                        let sub = Array(values[(j * subBlock)..<((j + 1) * subBlock)])
                        var bestError = Float.infinity
                        for a in around(scales[j], dRounded) {
                            for b in around(minimums[j], dminRounded) {
                                let error = Self.minimumTypeError(
                                    sub, step: dRounded * Float(a), subtracted: dminRounded * Float(b), top: top)
                                if error < bestError { (bestError, sc[j], mn[j]) = (error, UInt8(a), UInt8(b)) }
                            }
                        }
                    }
                    for i in 0..<superBlock {
                        let j = i / subBlock
                        let step = dRounded * Float(sc[j]), subtracted = dminRounded * Float(mn[j])
                        let q = Self.minimumTypeCode(values[i], step: step, subtracted: subtracted, top: top)
                        stored[i] = q
                        change.add(original: values[i], exported: step * Float(q) - subtracted, step: scales[j])
                    }
                    GGMLKQuantEncoder.appendBlock(
                        type, d: d, dmin: dmin, scales: sc, minimums: mn, codes: stored, to: &out)
                }
            }
        }
        return (out, change)
    }

    /// The Q4_K/Q5_K code nearest to `value` under x = step·q − subtracted (0 when the step is 0).
    @inline(__always)
    static func minimumTypeCode(_ value: Float, step: Float, subtracted: Float, top: Int32) -> Int32 {
        step == 0 ? 0 : Int32(max(0, min(Float(top), ((value + subtracted) / step).rounded(.toNearestOrEven))))
    }

    /// The Q6_K signed level nearest to `value` under x = step·q, q in −32…31.
    @inline(__always)
    static func q6KCode(_ value: Float, step: Float) -> Int32 {
        step == 0 ? 0 : Int32(max(-32, min(31, (value / step).rounded(.toNearestOrEven))))
    }

    static func minimumTypeError(_ values: [Float], step: Float, subtracted: Float, top: Int32) -> Float {
        values.reduce(0) { sum, v in
            let e = step * Float(minimumTypeCode(v, step: step, subtracted: subtracted, top: top)) - subtracted - v
            return sum + e * e
        }
    }

    static func q6KError(_ values: [Float], step: Float) -> Float {
        values.reduce(0) { sum, v in
            let e = step * Float(q6KCode(v, step: step)) - v
            return sum + e * e
        }
    }
}
