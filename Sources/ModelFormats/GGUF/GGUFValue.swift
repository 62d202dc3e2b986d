/// One GGUF metadata value (GGUF v3, `gguf_type`): scalars, strings, and arrays of any of them.
public enum GGUFValue: Sendable, Equatable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
    case uint64(UInt64), int64(Int64), float32(Float), float64(Double), bool(Bool), string(String)
    case array([GGUFValue])

    /// Wire type codes from the GGUF specification.
    enum TypeCode: UInt32 {
        case uint8 = 0, int8 = 1, uint16 = 2, int16 = 3, uint32 = 4, int32 = 5, float32 = 6, bool = 7, string = 8
        case array = 9, uint64 = 10, int64 = 11, float64 = 12

        /// Fixed encoded size, or nil for strings and arrays.
        var fixedByteCount: Int? {
            switch self {
            case .uint8, .int8, .bool: 1
            case .uint16, .int16: 2
            case .uint32, .int32, .float32: 4
            case .uint64, .int64, .float64: 8
            case .string, .array: nil
            }
        }
    }

    /// The value as an integer when it is any integer type that fits.
    public var intValue: Int? {
        switch self {
        case let .uint8(v): Int(v)
        case let .int8(v): Int(v)
        case let .uint16(v): Int(v)
        case let .int16(v): Int(v)
        case let .uint32(v): Int(v)
        case let .int32(v): Int(v)
        case let .uint64(v): Int(exactly: v)
        case let .int64(v): Int(v)
        case let .bool(v): v ? 1 : 0
        default: nil
        }
    }

    /// The value as a float when it is a float or integer.
    public var doubleValue: Double? {
        switch self {
        case let .float32(v): Double(v)
        case let .float64(v): v
        default: intValue.map(Double.init)
        }
    }

    /// The string, when this is a string.
    public var stringValue: String? {
        if case let .string(v) = self { return v }
        return nil
    }

    /// The boolean, when this is a bool.
    public var boolValue: Bool? {
        if case let .bool(v) = self { return v }
        return nil
    }

    /// The elements, when this is an array.
    public var arrayValue: [GGUFValue]? {
        if case let .array(v) = self { return v }
        return nil
    }
}
