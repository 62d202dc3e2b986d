import ModelFormats
import QuantCore

/// Writes a quantized weight's own codes as GGML blocks (the `exact` rows of `GGMLTypeMapping`): no re-rounding of
/// weights, only the block's scale (and minimum) stored in float16.
///
/// float16 rounding moves d by at most 2⁻¹¹ relative (and m by 2⁻¹¹ of itself), so a block's values move by at most
/// a 16th of a step for 4-bit codes and a fraction of a step for 8-bit ones. Each code is still re-chosen as
/// round((w − m′) / d′) against the rounded d′ and m′ (w being Quanta's value): for normal scales this gives back
/// the saved code (the property the tests check); for a scale that float16 flushes toward zero (below 6.1e−5 it
/// loses precision) it picks the code nearest to Quanta's value instead of keeping a code that now means something
/// else. The returned `WeightChange` compares the decoded block with Quanta's values.
public enum GGMLCodeConversion {
    /// The blocks of `quantized` as `type`, in Hugging Face row order, and what float16 storage changed.
    /// - Throws: `ExportError.unsupportedModel` when a code does not fit the type (a folder whose zero points do
    ///   not match its scheme) or a scale overflows float16.
    /// - Precondition: `GGMLTypeMapping.decide(quantized.scheme, shape:)` is `.exact(type)`.
    public static func encode(_ quantized: QuantizedTensor, as type: GGMLType, name: String) throws(ExportError)
        -> (bytes: [UInt8], change: WeightChange)
    {
        if type == .f16 || type == .bf16 {
            // A float cast stores the same 16-bit patterns GGML does.
            return (quantized.codes, WeightChange())
        }
        let savedCodes = try SavedCodes(quantized, name: name)
        let (parameters, codes, rows, rowLength, qmin) = (
            savedCodes.parameters, savedCodes.codes, savedCodes.rows, savedCodes.rowLength, savedCodes.qmin)
        let offset = GGMLBlockEncoder.codeOffset(type)
        let range = GGMLBlockEncoder.codeRange(type)
        let hasMinimum = GGMLBlockEncoder.hasMinimum(type)
        var out: [UInt8] = []
        out.reserveCapacity(type.byteCount(elementCount: quantized.elementCount) ?? 0)
        var change = WeightChange()
        var blockCodes = [Int32](repeating: 0, count: GGMLBlockEncoder.blockElementCount)
        for row in 0..<rows {
            for blockStart in stride(from: 0, to: rowLength, by: GGMLBlockEncoder.blockElementCount) {
                let slot = savedCodes.slot(row, blockStart)
                let scale = parameters.scales[slot], zeroPoint = parameters.zeroPoints[slot]
                let d = Float16(scale)
                let m = hasMinimum ? Float16(scale * Float(qmin - zeroPoint)) : 0
                guard d.isFinite, m.isFinite else {
                    throw .unsupportedModel("\(name): scale \(scale) of row \(row) overflows float16 (max 65504)")
                }
                let (dRounded, mRounded) = (Float(d), Float(m))
                for j in 0..<GGMLBlockEncoder.blockElementCount {
                    let q = codes[row * rowLength + blockStart + j]
                    let saved = hasMinimum ? q - qmin : q - zeroPoint + offset
                    guard range.contains(saved) else {
                        throw .unsupportedModel(
                            "\(name): code \(q) with zero point \(zeroPoint) at row \(row) does not fit \(type.name)")
                    }
                    let w = Float(q - zeroPoint) * scale
                    var chosen = saved
                    if dRounded > 0 {
                        let ideal = ((w - mRounded) / dRounded).rounded(.toNearestOrEven) + Float(offset)
                        chosen = Int32(min(max(ideal, Float(range.lowerBound)), Float(range.upperBound)))
                    }
                    blockCodes[j] = chosen
                    change.add(original: w, exported: dRounded * Float(chosen - offset) + mRounded, step: scale)
                }
                GGMLBlockEncoder.appendBlock(type, d: d, m: m, codes: blockCodes, to: &out)
            }
        }
        return (out, change)
    }
}
