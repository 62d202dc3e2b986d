import Foundation

/// Builds a GGUF v3 file (the layout `GGUFFile` reads and llama.cpp loads): header, metadata, tensor directory, then
/// tensor data, each tensor's offset aligned to `alignment` and placed right after the previous one.
public struct GGUFWriter: Sendable {
    /// A tensor waiting to be written.
    struct PendingTensor: Sendable {
        let name: String
        let dimensions: [Int]
        let type: GGMLType
        let bytes: [UInt8]
    }

    /// Data alignment; also written as `general.alignment` when not 32.
    public let alignment: Int
    private var metadata: [(String, GGUFValue)] = []
    private var tensors: [PendingTensor] = []

    public init(alignment: Int = 32) {
        precondition(alignment > 0 && alignment & (alignment - 1) == 0)
        self.alignment = alignment
        if alignment != 32 { metadata.append(("general.alignment", .uint32(UInt32(alignment)))) }
    }

    /// Adds (or replaces) a metadata entry; entries keep their insertion order.
    public mutating func set(_ key: String, _ value: GGUFValue) {
        if let index = metadata.firstIndex(where: { $0.0 == key }) {
            metadata[index].1 = value
        } else {
            metadata.append((key, value))
        }
    }

    /// Adds a tensor from already-encoded bytes.
    /// - Parameters: `shape` outermost first (Hugging Face order); it is stored innermost first as GGUF requires.
    /// - Throws: `FormatError.byteCountMismatch` when `bytes` does not hold `shape` in `type`.
    public mutating func addTensor(name: String, shape: [Int], type: GGMLType, bytes: [UInt8]) throws(FormatError) {
        let elements = shape.reduce(1, *)
        guard let expected = type.byteCount(elementCount: elements), expected == bytes.count else {
            throw .byteCountMismatch(file: "<gguf writer>", tensor: name, expected: type.byteCount(elementCount: elements) ?? -1, found: bytes.count)
        }
        guard !tensors.contains(where: { $0.name == name }) else { throw .duplicateTensor(file: "<gguf writer>", tensor: name) }
        tensors.append(PendingTensor(name: name, dimensions: shape.reversed(), type: type, bytes: bytes))
    }

    /// Adds a float32 tensor.
    public mutating func addTensor(name: String, shape: [Int], float32 values: [Float]) throws(FormatError) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(values.count * 4)
        for value in values { bytes.appendLittleEndian(value.bitPattern) }
        try addTensor(name: name, shape: shape, type: .f32, bytes: bytes)
    }

    /// The complete file.
    public func serialized() -> [UInt8] {
        var out: [UInt8] = []
        out.appendLittleEndian(UInt32(0x4655_4747))
        out.appendLittleEndian(UInt32(3))
        out.appendLittleEndian(UInt64(tensors.count))
        out.appendLittleEndian(UInt64(metadata.count))
        for (key, value) in metadata {
            out.appendString(key)
            out.appendLittleEndian(value.typeCode.rawValue)
            out.appendValue(value)
        }
        var offset = 0
        for tensor in tensors {
            out.appendString(tensor.name)
            out.appendLittleEndian(UInt32(tensor.dimensions.count))
            for dimension in tensor.dimensions { out.appendLittleEndian(UInt64(dimension)) }
            out.appendLittleEndian(tensor.type.rawValue)
            out.appendLittleEndian(UInt64(offset))
            offset = (offset + tensor.bytes.count + alignment - 1) / alignment * alignment
        }
        out.padToMultiple(of: alignment)
        for tensor in tensors {
            out.append(contentsOf: tensor.bytes)
            out.padToMultiple(of: alignment)
        }
        return out
    }

    /// Writes the file atomically (temporary file, then rename).
    public func write(to path: String) throws(FormatError) {
        try AtomicFile.write(Data(serialized()), to: path)
    }
}

extension GGUFValue {
    var typeCode: TypeCode {
        switch self {
        case .uint8: .uint8
        case .int8: .int8
        case .uint16: .uint16
        case .int16: .int16
        case .uint32: .uint32
        case .int32: .int32
        case .uint64: .uint64
        case .int64: .int64
        case .float32: .float32
        case .float64: .float64
        case .bool: .bool
        case .string: .string
        case .array: .array
        }
    }
}

extension [UInt8] {
    mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        for index in 0..<MemoryLayout<T>.size { append(UInt8(truncatingIfNeeded: value >> (8 * index))) }
    }

    mutating func appendString(_ text: String) {
        appendLittleEndian(UInt64(text.utf8.count))
        append(contentsOf: Array(text.utf8))
    }

    mutating func padToMultiple(of alignment: Int) {
        let padded = (count + alignment - 1) / alignment * alignment
        append(contentsOf: [UInt8](repeating: 0, count: padded - count))
    }

    mutating func appendValue(_ value: GGUFValue) {
        switch value {
        case let .uint8(v): appendLittleEndian(v)
        case let .int8(v): appendLittleEndian(v)
        case let .uint16(v): appendLittleEndian(v)
        case let .int16(v): appendLittleEndian(v)
        case let .uint32(v): appendLittleEndian(v)
        case let .int32(v): appendLittleEndian(v)
        case let .uint64(v): appendLittleEndian(v)
        case let .int64(v): appendLittleEndian(v)
        case let .float32(v): appendLittleEndian(v.bitPattern)
        case let .float64(v): appendLittleEndian(v.bitPattern)
        case let .bool(v): append(v ? 1 : 0)
        case let .string(v): appendString(v)
        case let .array(values):
            // An empty array is written as uint8; GGUF arrays are homogeneous, so the first element names the type.
            appendLittleEndian((values.first?.typeCode ?? .uint8).rawValue)
            appendLittleEndian(UInt64(values.count))
            for element in values { appendValue(element) }
        }
    }
}
