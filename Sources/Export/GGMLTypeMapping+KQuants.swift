import ModelFormats
import QuantCore

/// The K-quants (Q4_K, Q5_K, Q6_K) in the scheme-to-type table. No Quanta scheme is exactly a K-quant: a K-quant stores
/// one float16 scale per super-block of 256 and each sub-block's scale (and minimum) as a 6-bit (Q4_K, Q5_K) or 8-bit
/// (Q6_K) multiple of it, so a scheme's per-group float scales would have to be rounded. They are therefore a
/// conversion (`Configuration.requantizeType`), done in one of two ways:
///
/// - **codes carried** (`carriesCodes`): when every sub-block lies inside one of the scheme's parameter slots and the
///   codes fit, the saved codes are kept and only the group scales (and minimums) are re-quantized
///   (`GGMLKQuantCodeConversion`): integer ≤ 4-bit schemes, per tensor, per output channel or groups that are a
///   multiple of 32, into Q4_K or Q5_K (stored code q − qmin, minimum (zp − qmin)·scale); symmetric ≤ 6-bit schemes
///   with groups a multiple of 16 into Q6_K (stored code q − zp + 32). This keeps what GPTQ or AWQ chose; the cost is
///   the rounding of each scale to d·sc, up to half of d = (largest scale in the super-block)/63 (Q4_K/Q5_K) or /128
///   (Q6_K), which the export report measures (`GGUFExport.Report.kQuantScaleRounding`).
/// - **re-quantized** from the dequantized weights with llama.cpp's reference quantizer
///   (`GGMLKQuantReferenceQuantizer`) otherwise (other data types, float weights, an online rotation folded in).
///
/// Rows that are not whole super-blocks take llama.cpp's fallback type (`fallbackType`), as `llama-quantize` does.
extension GGMLTypeMapping {
    /// The 32-element type llama.cpp's `llama-quantize` uses for a tensor whose rows are not whole blocks of `type`
    /// (`tensor_type_fallback` in llama-quant.cpp): Q4_K → Q5_0, Q5_K → Q5_1, Q6_K → Q8_0, then F16 when even those
    /// do not fit. Any other type is returned unchanged.
    public static func fallbackType(_ type: GGMLType, rowLength: Int) -> GGMLType {
        guard rowLength % type.blockLayout.elementCount != 0 else { return type }
        let fallback: GGMLType
        switch type {
        case .q4_K: fallback = .q5_0
        case .q5_K: fallback = .q5_1
        case .q6_K: fallback = .q8_0
        default: return type
        }
        return rowLength % fallback.blockLayout.elementCount == 0 ? fallback : .f16
    }

    /// Whether the codes of a weight quantized with `scheme` (`shape` outermost first) can be written into the K-quant
    /// `type` as they are, with only its scales re-quantized (see the type's documentation).
    public static func carriesCodes(_ scheme: QuantScheme, shape: [Int], into type: GGMLType) -> Bool {
        guard GGMLKQuantEncoder.blockTypes.contains(type), scheme.dataType.isInteger else { return false }
        let rowLength = shape.last ?? 1
        guard rowLength % GGMLKQuantEncoder.superBlockElementCount == 0 else { return false }
        let subBlock = GGMLKQuantEncoder.subBlockElementCount(type)
        switch scheme.granularity {
        case .perTensor: break
        case .perChannel where scheme.axis == 0: break
        case .perGroup where (scheme.groupSize ?? 0) > 0 && (scheme.groupSize ?? 0) % subBlock == 0: break
        default: return false
        }
        let bits = scheme.dataType.bitWidth
        return type == .q6_K ? scheme.isSymmetric && bits <= 6 : bits <= 4
    }
}
