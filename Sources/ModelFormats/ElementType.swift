/// The element type of a tensor stored in a file, spelled as the safetensors spec spells its dtypes.
///
/// Every case here has a whole number of bytes per element, so a file that holds it can be opened, validated and
/// its bytes viewed with `SafetensorsFile.rawBytes(_:)`. Only `isConvertibleToFloat32` types can be decoded to a
/// float32 `Tensor`; the rest are an `unsupportedType` error when decoded. Sub-byte dtypes (safetensors `F4`,
/// `F6_E2M3`, `F6_E3M2`) are not cases, so a file that holds them is rejected when opened.
public enum ElementType: String, Sendable, Equatable, Hashable, CaseIterable {
    case float64 = "F64"
    case float32 = "F32"
    case float16 = "F16"
    case bfloat16 = "BF16"
    case int64 = "I64"
    case int32 = "I32"
    case int16 = "I16"
    case int8 = "I8"
    case uint64 = "U64"
    case uint32 = "U32"
    case uint16 = "U16"
    case uint8 = "U8"
    case bool = "BOOL"
    /// 8-bit float, 4 exponent bits, 3 mantissa bits, no infinities ("fn" variant).
    case float8E4M3 = "F8_E4M3"
    /// 8-bit float, 5 exponent bits, 2 mantissa bits.
    case float8E5M2 = "F8_E5M2"

    /// The dtype string of the safetensors header (`"BF16"`).
    public var safetensorsName: String { rawValue }

    /// Bytes one element occupies.
    public var bytesPerElement: Int {
        switch self {
        case .float64, .int64, .uint64: 8
        case .float32, .int32, .uint32: 4
        case .float16, .bfloat16, .int16, .uint16: 2
        case .int8, .uint8, .bool, .float8E4M3, .float8E5M2: 1
        }
    }

    /// Whether `SafetensorsFile.tensor(_:)` can decode this type to float32 (F32, F16, BF16, I8, U8, I32, I64).
    public var isConvertibleToFloat32: Bool {
        switch self {
        case .float32, .float16, .bfloat16, .int8, .uint8, .int32, .int64: true
        default: false
        }
    }
}
