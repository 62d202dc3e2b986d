import JSONCore
import TensorCore

/// A safetensors file, memory-mapped and validated when opened; tensor bytes are viewed in place, never copied.
///
/// Layout ("Format" section of the safetensors README; checked against safetensors 0.8.0): a u64 little-endian
/// header length `N`, `N` bytes of UTF-8 JSON `{name: {"dtype", "shape", "data_offsets": [begin, end]},
/// "__metadata__": {…}}`, then the data section; offsets count from the start of the data section. `init` checks everything before
/// anything is read: the header length against the file and `maxHeaderByteCount`, the JSON grammar, the type of every
/// field, shape products (with overflow checks), byte counts against shape × dtype size, extents against the data
/// section, overlaps and duplicate names.
///
/// Departures from the reference reader: gaps between tensors and unused bytes after the last one are accepted (the
/// reference requires the tensors to tile the data section exactly); unknown fields in a tensor entry are rejected
/// (the reference ignores them).
public final class SafetensorsFile: Sendable {
    /// Where and how one tensor is stored.
    public struct TensorInfo: Sendable, Equatable {
        /// The tensor's name (the header key).
        public let name: String
        /// The stored element type (the header's `dtype`).
        public let elementType: ElementType
        /// Extent of each dimension, outermost first; `[]` is a scalar.
        public let shape: [Int]
        /// The header's `data_offsets`: byte range relative to the start of the data section.
        public let dataOffsets: Range<Int>
        /// The same bytes as an absolute byte range of the file.
        public let fileRange: Range<Int>

        /// Number of elements: the product of `shape` (1 for a scalar).
        public var elementCount: Int { shape.reduce(1, *) }
        /// Number of stored bytes: `elementCount × elementType.bytesPerElement`.
        public var byteCount: Int { dataOffsets.count }
    }

    /// Largest header accepted, in bytes; the reference implementation uses the same limit.
    public static let maxHeaderByteCount = 100_000_000

    /// Path as given by the caller, used in error messages.
    public let path: String
    /// The `__metadata__` string pairs; empty when the header has none.
    public let metadata: [String: String]
    /// Tensor names, sorted.
    public let names: [String]
    /// `N`: bytes of JSON header (padding included) after the 8-byte length.
    public let headerByteCount: Int
    /// Absolute file offset of the data section: `8 + headerByteCount`.
    public var dataSectionOffset: Int { 8 + headerByteCount }

    private let file: MappedFile
    private let infos: [String: TensorInfo]

    /// Maps and validates the file at `path`.
    /// - Throws: `FormatError.unreadable` when the file cannot be mapped, otherwise whatever `init(mapping:)` throws.
    public convenience init(path: String) throws(FormatError) {
        try self.init(mapping: MappedFile(path: path))
    }

    /// Validates the safetensors header of an already mapped file.
    /// - Throws: `FormatError.truncated` (shorter than 8 bytes, or header length past the end of the file);
    ///   `.invalidHeader` (header over `maxHeaderByteCount`, bad JSON, not an object, a field missing or of the wrong
    ///   type, bad `__metadata__`); `.unsupportedType` (a dtype that is not an `ElementType`); `.absurdShape`
    ///   (negative dimension, or an element or byte count that overflows `Int`); `.byteCountMismatch`;
    ///   `.tensorOutOfBounds`; `.overlappingTensors`; `.duplicateTensor`.
    public init(mapping file: MappedFile) throws(FormatError) {
        let path = file.path
        let bytes = file.bytes
        guard bytes.count >= 8 else { throw .truncated(file: path, at: 0, needed: 8, available: bytes.count) }
        var declaredLength: UInt64 = 0
        for index in (0..<8).reversed() { declaredLength = declaredLength << 8 | UInt64(bytes[index]) }
        let available = bytes.count - 8
        guard declaredLength <= UInt64(available) else {
            throw .truncated(file: path, at: 8, needed: Int(clamping: declaredLength), available: available)
        }
        let headerByteCount = Int(declaredLength)
        guard headerByteCount <= Self.maxHeaderByteCount else {
            let limit = Self.maxHeaderByteCount
            throw .invalidHeader(file: path, reason: "header length \(headerByteCount) exceeds the limit of \(limit) bytes")
        }
        let header = UnsafeRawBufferPointer(rebasing: bytes[8..<(8 + headerByteCount)])
        let parsed = try Self.parseHeader(header, file: path, dataSectionByteCount: available - headerByteCount)
        self.path = path
        self.file = file
        self.headerByteCount = headerByteCount
        self.metadata = parsed.metadata
        self.infos = Dictionary(uniqueKeysWithValues: parsed.tensors.map { ($0.name, $0) })
        self.names = infos.keys.sorted()
    }

    /// Whether the file holds a tensor called `name`.
    public func contains(_ name: String) -> Bool { infos[name] != nil }

    /// Where and how `name` is stored.
    /// - Throws: `FormatError.missingTensor` when the file has no tensor `name`.
    public func info(_ name: String) throws(FormatError) -> TensorInfo {
        guard let info = infos[name] else { throw .missingTensor(file: path, tensor: name) }
        return info
    }

    /// The stored bytes of `name`, as a view into the mapping (no copy).
    ///
    /// The view is valid only while this `SafetensorsFile` is alive; copy the bytes out to keep them longer.
    /// - Throws: `FormatError.missingTensor` when the file has no tensor `name`.
    public func rawBytes(_ name: String) throws(FormatError) -> UnsafeRawBufferPointer {
        let info = try info(name)
        return UnsafeRawBufferPointer(rebasing: file.bytes[info.fileRange])
    }

    /// Decodes `name` to a float32 tensor of the stored shape.
    ///
    /// F32 is copied bit for bit; F16 and BF16 widen exactly; I8, U8 and I32 convert exactly; I64 rounds to the
    /// nearest float32 beyond 2^24.
    /// - Throws: `FormatError.missingTensor`; `.unsupportedType` naming the dtype when it is not one of F32, F16,
    ///   BF16, I8, U8, I32, I64.
    public func tensor(_ name: String) throws(FormatError) -> Tensor {
        let info = try info(name)
        let bytes = UnsafeRawBufferPointer(rebasing: file.bytes[info.fileRange])
        let count = info.elementCount
        let scalars: [Float]
        switch info.elementType {
        case .float32:
            #if _endian(little)
            scalars = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                // The bytes may sit at any offset; memcpy has no alignment requirement.
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: bytes)
                initialized = count
            }
            #else
            scalars = Self.decode(bytes, count: count, as: UInt32.self) { Float(bitPattern: $0) }
            #endif
        case .float16: scalars = Self.decode(bytes, count: count, as: UInt16.self) { Float(Float16(bitPattern: $0)) }
        case .bfloat16: scalars = Self.decode(bytes, count: count, as: UInt16.self) { BFloat16(bitPattern: $0).floatValue }
        case .int8: scalars = Self.decode(bytes, count: count, as: UInt8.self) { Float(Int8(bitPattern: $0)) }
        case .uint8: scalars = Self.decode(bytes, count: count, as: UInt8.self) { Float($0) }
        case .int32: scalars = Self.decode(bytes, count: count, as: UInt32.self) { Float(Int32(bitPattern: $0)) }
        case .int64: scalars = Self.decode(bytes, count: count, as: UInt64.self) { Float(Int64(bitPattern: $0)) }
        case .float64, .int16, .uint64, .uint32, .uint16, .bool, .float8E4M3, .float8E5M2:
            throw .unsupportedType(file: path, tensor: name, type: info.elementType.safetensorsName)
        }
        return Tensor(shape: info.shape, scalars: scalars)
    }

    /// Decodes every tensor (see `tensor(_:)`), keyed by name.
    /// - Throws: the first error of `tensor(_:)`, in name order.
    public func tensors() throws(FormatError) -> [String: Tensor] {
        var result: [String: Tensor] = [:]
        for name in names { result[name] = try tensor(name) }
        return result
    }

    /// Reads `count` little-endian `Stored` values at any alignment and converts each with `convert`.
    @inline(__always)
    private static func decode<Stored: FixedWidthInteger>(
        _ bytes: UnsafeRawBufferPointer, count: Int, as _: Stored.Type, _ convert: (Stored) -> Float
    ) -> [Float] {
        precondition(bytes.count == count * MemoryLayout<Stored>.size)
        return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            for index in 0..<count {
                let stored = bytes.loadUnaligned(fromByteOffset: index * MemoryLayout<Stored>.size, as: Stored.self)
                buffer[index] = convert(Stored(littleEndian: stored))
            }
            initialized = count
        }
    }
}

extension SafetensorsFile {
    private struct ParsedHeader {
        var metadata: [String: String] = [:]
        var tensors: [TensorInfo] = []
    }

    private static func parseHeader(
        _ header: UnsafeRawBufferPointer, file: String, dataSectionByteCount: Int
    ) throws(FormatError) -> ParsedHeader {
        let root: JSONValue
        do {
            root = try JSONParser.parse(header)
        } catch {
            throw .invalidHeader(file: file, reason: "JSON syntax error at header byte \(error.offset): \(error.reason)")
        }
        guard case let .object(members) = root else {
            throw .invalidHeader(file: file, reason: "expected a JSON object, found \(root.kindDescription)")
        }
        var parsed = ParsedHeader()
        var hasMetadata = false
        var seen: Set<String> = []
        for member in members {
            if member.key == "__metadata__" {
                guard !hasMetadata else { throw .invalidHeader(file: file, reason: "__metadata__ appears more than once") }
                hasMetadata = true
                parsed.metadata = try parseMetadata(member.value, file: file)
                continue
            }
            guard seen.insert(member.key).inserted else { throw .duplicateTensor(file: file, tensor: member.key) }
            parsed.tensors.append(
                try parseEntry(member.value, name: member.key, file: file, dataSectionOffset: 8 + header.count,
                               dataSectionByteCount: dataSectionByteCount))
        }
        // Sorted by extent, any overlap shows up between neighbours; empty tensors hold no bytes and overlap nothing.
        let stored = parsed.tensors.filter { !$0.dataOffsets.isEmpty }.sorted {
            ($0.dataOffsets.lowerBound, $0.dataOffsets.upperBound) < ($1.dataOffsets.lowerBound, $1.dataOffsets.upperBound)
        }
        for (last, info) in zip(stored, stored.dropFirst())
        where info.dataOffsets.lowerBound < last.dataOffsets.upperBound {
            throw .overlappingTensors(file: file, first: last.name, second: info.name)
        }
        return parsed
    }

    private static func parseMetadata(_ value: JSONValue, file: String) throws(FormatError) -> [String: String] {
        guard case let .object(members) = value else {
            throw .invalidHeader(file: file, reason: "__metadata__ must be an object, found \(value.kindDescription)")
        }
        var metadata: [String: String] = [:]
        for member in members {
            let key = JSONValue.quoted(member.key)
            guard case let .string(text) = member.value else {
                let found = member.value.kindDescription
                throw .invalidHeader(file: file, reason: "__metadata__ value of \(key) must be a string, found \(found)")
            }
            guard metadata.updateValue(text, forKey: member.key) == nil else {
                throw .invalidHeader(file: file, reason: "__metadata__ key \(key) appears more than once")
            }
        }
        return metadata
    }

    private static func parseEntry(
        _ value: JSONValue, name: String, file: String, dataSectionOffset: Int, dataSectionByteCount: Int
    ) throws(FormatError) -> TensorInfo {
        func invalid(_ reason: String) -> FormatError {
            .invalidHeader(file: file, reason: "tensor \(JSONValue.quoted(name)): \(reason)")
        }
        guard case let .object(members) = value else { throw invalid("expected an object, found \(value.kindDescription)") }
        var fields: [String: JSONValue] = [:]
        for member in members {
            guard ["dtype", "shape", "data_offsets"].contains(member.key) else {
                throw invalid("unknown field \(JSONValue.quoted(member.key))")
            }
            guard fields.updateValue(member.value, forKey: member.key) == nil else {
                throw invalid("field \(JSONValue.quoted(member.key)) appears more than once")
            }
        }
        guard let dtypeValue = fields["dtype"] else { throw invalid("missing field \"dtype\"") }
        guard let shapeValue = fields["shape"] else { throw invalid("missing field \"shape\"") }
        guard let offsetsValue = fields["data_offsets"] else { throw invalid("missing field \"data_offsets\"") }

        guard case let .string(dtype) = dtypeValue else {
            throw invalid("dtype must be a string, found \(dtypeValue.kindDescription)")
        }
        guard let elementType = ElementType(rawValue: dtype) else {
            throw .unsupportedType(file: file, tensor: name, type: dtype)
        }

        guard case let .array(dimensionValues) = shapeValue else {
            throw invalid("shape must be an array of integers, found \(shapeValue.kindDescription)")
        }
        var shape: [Int] = []
        for dimension in dimensionValues {
            guard let extent = dimension.integerValue else {
                throw invalid("shape must be an array of integers that fit in 64 bits, found \(dimension.kindDescription)")
            }
            shape.append(extent)
        }
        guard shape.allSatisfy({ $0 >= 0 }) else { throw .absurdShape(file: file, tensor: name, shape: shape) }
        var expectedByteCount = elementType.bytesPerElement
        for extent in shape {
            let (product, overflow) = expectedByteCount.multipliedReportingOverflow(by: extent)
            guard !overflow else { throw .absurdShape(file: file, tensor: name, shape: shape) }
            expectedByteCount = product
        }

        guard case let .array(offsetValues) = offsetsValue, offsetValues.count == 2,
              let begin = offsetValues[0].integerValue, let end = offsetValues[1].integerValue, begin >= 0, end >= 0
        else {
            let found = offsetsValue.kindDescription
            throw invalid("data_offsets must be [begin, end] with non-negative integers, found \(found)")
        }
        guard begin <= end else { throw invalid("data_offsets [\(begin), \(end)] end before they begin") }
        guard end - begin == expectedByteCount else {
            throw .byteCountMismatch(file: file, tensor: name, expected: expectedByteCount, found: end - begin)
        }
        guard end <= dataSectionByteCount else {
            throw .tensorOutOfBounds(file: file, tensor: name, begin: begin, end: end, available: dataSectionByteCount)
        }
        return TensorInfo(
            name: name, elementType: elementType, shape: shape, dataOffsets: begin..<end,
            fileRange: (dataSectionOffset + begin)..<(dataSectionOffset + end))
    }
}
