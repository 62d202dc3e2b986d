import Foundation
import ONNXProto
import QuantCore

/// ONNX tensors (onnx.proto `TensorProto`) with their values in `raw_data`, little-endian, row-major, as the spec
/// requires; 4-bit types pack two elements per byte, the first in the low nibble (onnx.proto, `raw_data` comment).
enum ONNXTensorData {
    /// The element types this exporter writes (`TensorProto.DataType` numbers).
    enum ElementType: Int32, CaseIterable, Sendable {
        case float = 1
        case uint8 = 2
        case int8 = 3
        case int64 = 7
        case bool = 9
        case float8e4m3fn = 17
        case float8e5m2 = 19
        case uint4 = 21
        case int4 = 22

        /// The ONNX spelling, as `onnx.TensorProto.DataType` names it.
        var name: String {
            switch self {
            case .float: "float"
            case .uint8: "uint8"
            case .int8: "int8"
            case .int64: "int64"
            case .bool: "bool"
            case .float8e4m3fn: "float8e4m3fn"
            case .float8e5m2: "float8e5m2"
            case .uint4: "uint4"
            case .int4: "int4"
            }
        }

        var bitWidth: Int {
            switch self {
            case .float: 32
            case .uint8, .int8, .bool, .float8e4m3fn, .float8e5m2: 8
            case .int64: 64
            case .uint4, .int4: 4
            }
        }

        var isSigned: Bool { self == .int8 || self == .int4 || self == .int64 }

        /// The smallest integer code type that holds `bits`-bit codes of this signedness (ONNX has no 2- or 3-bit
        /// type; their codes are a subset of the 4-bit range).
        static func integer(bits: Int, isSigned: Bool) -> ElementType? {
            switch bits {
            case 1...4: isSigned ? .int4 : .uint4
            case 5...8: isSigned ? .int8 : .uint8
            default: nil
            }
        }

        /// The float8 type whose encoding is Quanta's FP8 format (ONNX FLOAT8E4M3FN: bias 7, no infinities, NaN
        /// S.1111.111; FLOAT8E5M2: IEEE-style), nil for other data types.
        static func float8(_ type: QuantDataType) -> ElementType? {
            switch type {
            case .fp8_e4m3: .float8e4m3fn
            case .fp8_e5m2: .float8e5m2
            default: nil
            }
        }

        /// The code type of a Quanta data type: integers of 1-8 bits, or float8.
        static func codes(_ type: QuantDataType) -> ElementType? {
            type.isInteger ? integer(bits: type.bitWidth, isSigned: !type.isUnsigned) : float8(type)
        }

        /// Inclusive code range.
        var range: ClosedRange<Int32> {
            switch self {
            case .int4: -8...7
            case .uint4: 0...15
            case .int8: -128...127
            case .uint8: 0...255
            default: Int32.min...Int32.max
            }
        }
    }

    static func proto(name: String, shape: [Int], type: ElementType, raw: Data) -> Onnx_TensorProto {
        var tensor = Onnx_TensorProto()
        tensor.name = name
        tensor.dims = shape.map(Int64.init)
        tensor.dataType = type.rawValue
        tensor.rawData = raw
        return tensor
    }

    /// A float32 tensor.
    static func float(name: String, shape: [Int], values: [Float]) -> Onnx_TensorProto {
        precondition(values.count == shape.reduce(1, *))
        let bits = values.map { $0.bitPattern.littleEndian }
        return proto(name: name, shape: shape, type: .float, raw: bits.withUnsafeBytes { Data($0) })
    }

    /// An int64 tensor.
    static func int64(name: String, shape: [Int], values: [Int64]) -> Onnx_TensorProto {
        precondition(values.count == shape.reduce(1, *))
        let bits = values.map { $0.littleEndian }
        return proto(name: name, shape: shape, type: .int64, raw: bits.withUnsafeBytes { Data($0) })
    }

    /// An integer code tensor of `type` (int4/uint4/int8/uint8); every code must lie in the type's range.
    static func integers(name: String, shape: [Int], codes: [Int32], type: ElementType) -> Onnx_TensorProto {
        precondition(codes.count == shape.reduce(1, *) && codes.allSatisfy { type.range.contains($0) })
        return proto(name: name, shape: shape, type: type, raw: Data(pack(codes, type: type)))
    }

    /// One-byte codes (float8) as a tensor, unchanged.
    static func bytes(name: String, shape: [Int], codes: [UInt8], type: ElementType) -> Onnx_TensorProto {
        precondition(codes.count == shape.reduce(1, *) && type.bitWidth == 8)
        return proto(name: name, shape: shape, type: type, raw: Data(codes))
    }

    /// The float value of a float8 code: ONNX's FLOAT8E4M3FN (bias 7, subnormals, no infinities, NaN S.1111.111)
    /// or FLOAT8E5M2 (bias 15, IEEE infinities and NaNs), decoded independently of QuantCore's codec.
    static func float8Value(_ code: UInt8, type: ElementType) -> Float {
        let (exponentBits, bias): (Int, Int) = type == .float8e4m3fn ? (4, 7) : (5, 15)
        let mantissaBits = 7 - exponentBits
        let sign: Float = code & 0x80 != 0 ? -1 : 1
        let exponent = Int(code >> UInt8(mantissaBits)) & ((1 << exponentBits) - 1)
        let mantissa = Int(code) & ((1 << mantissaBits) - 1)
        if type == .float8e4m3fn && exponent == 15 && mantissa == 7 { return .nan }
        if type == .float8e5m2 && exponent == 31 { return mantissa == 0 ? sign * .infinity : .nan }
        let scale = Float(1 << mantissaBits)
        if exponent == 0 {
            return sign * Float(mantissa) / scale * Float(sign: .plus, exponent: 1 - bias, significand: 1)
        }
        return sign * (1 + Float(mantissa) / scale) * Float(sign: .plus, exponent: exponent - bias, significand: 1)
    }

    /// Codes as `type`'s bytes: one per element, or two per byte for 4-bit types (element 2i in the low nibble).
    static func pack(_ codes: [Int32], type: ElementType) -> [UInt8] {
        if type.bitWidth == 8 { return codes.map { UInt8(truncatingIfNeeded: $0) } }
        precondition(type.bitWidth == 4)
        var bytes = [UInt8](repeating: 0, count: (codes.count + 1) / 2)
        for (index, code) in codes.enumerated() {
            let nibble = UInt8(truncatingIfNeeded: code) & 0x0F
            bytes[index / 2] |= index % 2 == 0 ? nibble : nibble << 4
        }
        return bytes
    }

    /// The codes of `count` elements of `type` in `bytes` (the inverse of `pack`; 4-bit values sign-extended when
    /// signed).
    static func unpack(_ bytes: Data, count: Int, type: ElementType) -> [Int32] {
        var codes = [Int32](repeating: 0, count: count)
        bytes.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            for index in 0..<count {
                switch type {
                case .int8: codes[index] = Int32(Int8(bitPattern: raw[index]))
                case .uint8, .bool: codes[index] = Int32(raw[index])
                case .int4, .uint4:
                    let byte = raw[index / 2]
                    let nibble = Int32(index % 2 == 0 ? byte & 0x0F : byte >> 4)
                    codes[index] = type == .int4 && nibble >= 8 ? nibble - 16 : nibble
                default: preconditionFailure("unpack of \(type.name)")
                }
            }
        }
        return codes
    }

    /// Bytes `count` elements of `type` take in `raw_data`.
    static func byteCount(count: Int, type: ElementType) -> Int {
        type.bitWidth == 4 ? (count + 1) / 2 : count * type.bitWidth / 8
    }
}
