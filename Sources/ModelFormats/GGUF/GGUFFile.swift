/// A parsed GGUF v2/v3 file (ggml's `gguf.c`): metadata, tensor directory, and zero-copy views of tensor data.
///
/// Everything in the header is validated against the file size before use: string and array lengths, dimension
/// products (with overflow checks), tensor extents and overlaps. The file is memory-mapped and never modified.
public final class GGUFFile: @unchecked Sendable {
    /// One entry of the tensor directory.
    public struct TensorInfo: Sendable, Equatable {
        /// Name as stored in the file (`blk.0.attn_q.weight`).
        public let name: String
        /// Dimensions innermost first, as GGUF stores them (`[in, out]` for a weight that is `[out, in]`).
        public let dimensions: [Int]
        /// Element type.
        public let type: GGMLType
        /// Byte offset relative to the start of the data section.
        public let offset: Int
        /// Byte length of the data.
        public let byteCount: Int
        /// Product of the dimensions.
        public var elementCount: Int { dimensions.reduce(1, *) }
        /// Dimensions outermost first (row-major, Hugging Face order).
        public var shape: [Int] { dimensions.reversed() }
    }

    /// Largest accepted element count for one tensor (2^40): larger means a corrupted header, not a real model.
    static let maximumElementCount = 1 << 40
    /// Largest accepted number of dimensions (ggml's GGML_MAX_DIMS).
    static let maximumDimensionCount = 4

    /// Path, for messages.
    public let path: String
    /// Format version (2 or 3).
    public let version: UInt32
    /// Key/value metadata.
    public let metadata: [String: GGUFValue]
    /// Tensor directory in file order.
    public let tensors: [TensorInfo]
    /// Data alignment (`general.alignment`, default 32).
    public let alignment: Int
    /// Byte offset of the data section in the file.
    public let dataOffset: Int
    private let file: MappedFile
    private let index: [String: Int]

    /// Opens and validates `path`.
    /// - Throws: `FormatError` naming the first problem found.
    public init(path: String) throws(FormatError) {
        self.path = path
        file = try MappedFile(path: path)
        var reader = ByteReader(bytes: file.bytes, file: path)
        let magic = try reader.read(UInt32.self)
        guard magic == 0x4655_4747 else {  // "GGUF" little-endian
            throw .invalidHeader(file: path, reason: "bad magic \(String(magic, radix: 16)), expected 'GGUF'")
        }
        version = try reader.read(UInt32.self)
        guard version == 2 || version == 3 else {
            throw .invalidHeader(file: path, reason: "unsupported GGUF version \(version), expected 2 or 3")
        }
        let tensorCount = try reader.read(UInt64.self)
        let metadataCount = try reader.read(UInt64.self)
        // Each metadata entry needs at least 12 bytes (key length + type) and each tensor info at least 24.
        guard metadataCount <= UInt64(reader.remaining / 12), tensorCount <= UInt64(reader.remaining / 24) else {
            throw .invalidHeader(
                file: path, reason: "counts too large for the file: \(tensorCount) tensors, \(metadataCount) metadata keys")
        }
        var metadata: [String: GGUFValue] = [:]
        for _ in 0..<Int(metadataCount) {
            let key = try reader.readString()
            let rawType = try reader.read(UInt32.self)
            metadata[key] = try Self.readValue(rawType: rawType, key: key, reader: &reader, depth: 0)
        }
        self.metadata = metadata
        var alignment = 32
        if let value = metadata["general.alignment"] {
            guard let a = value.intValue, a > 0, a & (a - 1) == 0 else {
                throw .invalidHeader(file: path, reason: "general.alignment must be a power of two, got \(value)")
            }
            alignment = a
        }
        self.alignment = alignment

        var infos: [TensorInfo] = []
        var rawInfos: [(name: String, dims: [Int], type: GGMLType, offset: UInt64)] = []
        var seen = Set<String>()
        for _ in 0..<Int(tensorCount) {
            let name = try reader.readString()
            guard seen.insert(name).inserted else { throw .duplicateTensor(file: path, tensor: name) }
            let dimensionCount = try reader.read(UInt32.self)
            guard dimensionCount >= 1, dimensionCount <= UInt32(Self.maximumDimensionCount) else {
                throw .invalidHeader(file: path, reason: "tensor '\(name)' has \(dimensionCount) dimensions (1...4 allowed)")
            }
            var dims: [Int] = []
            var elements = 1
            for _ in 0..<Int(dimensionCount) {
                let raw = try reader.read(UInt64.self)
                let dim = Int(clamping: raw)
                let (product, overflow) = elements.multipliedReportingOverflow(by: dim)
                dims.append(dim)
                guard !overflow, raw <= UInt64(Int.max), product <= Self.maximumElementCount else {
                    throw .absurdShape(file: path, tensor: name, shape: dims.reversed())
                }
                elements = product
            }
            let rawType = try reader.read(UInt32.self)
            guard let type = GGMLType(rawValue: rawType) else {
                throw .unsupportedType(file: path, tensor: name, type: "ggml type \(rawType)")
            }
            let offset = try reader.read(UInt64.self)
            rawInfos.append((name, dims, type, offset))
        }
        let dataOffset = (reader.offset + alignment - 1) / alignment * alignment
        guard dataOffset <= file.byteCount else {
            throw .truncated(file: path, at: reader.offset, needed: dataOffset - reader.offset, available: reader.remaining)
        }
        self.dataOffset = dataOffset
        let available = file.byteCount - dataOffset
        for raw in rawInfos {
            let elements = raw.dims.reduce(1, *)
            guard let byteCount = raw.type.byteCount(elementCount: elements), raw.dims[0] % raw.type.blockLayout.elementCount == 0 else {
                throw .invalidHeader(
                    file: path,
                    reason: "tensor '\(raw.name)' has \(raw.dims[0]) elements per row, not a multiple of \(raw.type.name)'s block")
            }
            guard raw.offset <= UInt64(available), Int(raw.offset) % alignment == 0 else {
                throw raw.offset > UInt64(available)
                    ? .tensorOutOfBounds(file: path, tensor: raw.name, begin: Int(clamping: raw.offset),
                                         end: Int(clamping: raw.offset) &+ byteCount, available: available)
                    : .invalidHeader(file: path, reason: "tensor '\(raw.name)' offset \(raw.offset) is not \(alignment)-aligned")
            }
            let begin = Int(raw.offset)
            guard byteCount <= available - begin else {
                throw .tensorOutOfBounds(file: path, tensor: raw.name, begin: begin, end: begin + byteCount, available: available)
            }
            infos.append(TensorInfo(name: raw.name, dimensions: raw.dims, type: raw.type, offset: begin, byteCount: byteCount))
        }
        let sorted = infos.sorted { $0.offset < $1.offset }
        for (previous, next) in zip(sorted, sorted.dropFirst()) where previous.byteCount > 0 && next.byteCount > 0 {
            if previous.offset + previous.byteCount > next.offset {
                throw .overlappingTensors(file: path, first: previous.name, second: next.name)
            }
        }
        tensors = infos
        index = Dictionary(uniqueKeysWithValues: infos.enumerated().map { ($1.name, $0) })
    }

    /// The directory entry for `name`.
    public func info(_ name: String) throws(FormatError) -> TensorInfo {
        guard let position = index[name] else { throw .missingTensor(file: path, tensor: name) }
        return tensors[position]
    }

    /// Zero-copy view of a tensor's bytes; valid while this object lives.
    public func rawBytes(_ info: TensorInfo) -> UnsafeRawBufferPointer {
        let start = dataOffset + info.offset
        return UnsafeRawBufferPointer(rebasing: file.bytes[start..<(start + info.byteCount)])
    }

    /// A metadata string, or a `missingMetadata` error.
    public func string(_ key: String) throws(FormatError) -> String {
        guard let value = metadata[key]?.stringValue else { throw .missingMetadata(file: path, key: key, expected: "a string") }
        return value
    }

    /// A metadata integer, or a `missingMetadata` error.
    public func integer(_ key: String) throws(FormatError) -> Int {
        guard let value = metadata[key]?.intValue else { throw .missingMetadata(file: path, key: key, expected: "an integer") }
        return value
    }

    /// A metadata float, or a `missingMetadata` error.
    public func float(_ key: String) throws(FormatError) -> Double {
        guard let value = metadata[key]?.doubleValue else { throw .missingMetadata(file: path, key: key, expected: "a number") }
        return value
    }

    /// A metadata array of strings, or a `missingMetadata` error.
    public func strings(_ key: String) throws(FormatError) -> [String] {
        guard let array = metadata[key]?.arrayValue else { throw .missingMetadata(file: path, key: key, expected: "an array of strings") }
        var result: [String] = []
        result.reserveCapacity(array.count)
        for element in array {
            guard let text = element.stringValue else {
                throw .missingMetadata(file: path, key: key, expected: "an array of strings")
            }
            result.append(text)
        }
        return result
    }

    /// A metadata array of integers, or a `missingMetadata` error.
    public func integers(_ key: String) throws(FormatError) -> [Int] {
        guard let array = metadata[key]?.arrayValue else { throw .missingMetadata(file: path, key: key, expected: "an array of integers") }
        var result: [Int] = []
        result.reserveCapacity(array.count)
        for element in array {
            guard let value = element.intValue else {
                throw .missingMetadata(file: path, key: key, expected: "an array of integers")
            }
            result.append(value)
        }
        return result
    }

    private static func readValue(rawType: UInt32, key: String, reader: inout ByteReader, depth: Int) throws(FormatError) -> GGUFValue {
        guard let type = GGUFValue.TypeCode(rawValue: rawType) else {
            throw .invalidHeader(file: reader.file, reason: "metadata '\(key)' has unknown value type \(rawType)")
        }
        switch type {
        case .uint8: return .uint8(try reader.read(UInt8.self))
        case .int8: return .int8(try reader.read(Int8.self))
        case .uint16: return .uint16(try reader.read(UInt16.self))
        case .int16: return .int16(try reader.read(Int16.self))
        case .uint32: return .uint32(try reader.read(UInt32.self))
        case .int32: return .int32(try reader.read(Int32.self))
        case .uint64: return .uint64(try reader.read(UInt64.self))
        case .int64: return .int64(try reader.read(Int64.self))
        case .float32: return .float32(try reader.readFloat())
        case .float64: return .float64(try reader.readDouble())
        case .bool:
            let byte = try reader.read(UInt8.self)
            guard byte <= 1 else { throw .invalidHeader(file: reader.file, reason: "metadata '\(key)' has bool byte \(byte)") }
            return .bool(byte == 1)
        case .string: return .string(try reader.readString())
        case .array:
            guard depth == 0 else {
                throw .invalidHeader(file: reader.file, reason: "metadata '\(key)' nests arrays deeper than GGUF allows")
            }
            let elementType = try reader.read(UInt32.self)
            let count = try reader.read(UInt64.self)
            guard let code = GGUFValue.TypeCode(rawValue: elementType) else {
                throw .invalidHeader(file: reader.file, reason: "metadata '\(key)' is an array of unknown type \(elementType)")
            }
            // The smallest possible element (1 byte, or 8 for a string's length) bounds a believable count.
            let minimumBytes = code.fixedByteCount ?? (code == .string ? 8 : 12)
            guard count <= UInt64(reader.remaining / minimumBytes) else {
                throw .truncated(file: reader.file, at: reader.offset, needed: Int(clamping: count) &* minimumBytes, available: reader.remaining)
            }
            var values: [GGUFValue] = []
            values.reserveCapacity(Int(count))
            for _ in 0..<Int(count) {
                values.append(try readValue(rawType: elementType, key: key, reader: &reader, depth: depth + 1))
            }
            return .array(values)
        }
    }
}
