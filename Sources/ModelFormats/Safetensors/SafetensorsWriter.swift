import Foundation
import JSONCore
import TensorCore

/// Collects named tensors and metadata and writes them as one safetensors file, atomically.
///
/// The header lists `__metadata__` first (omitted when empty) and then the tensors sorted by name, with data offsets
/// in that same order and no gaps; keys inside `__metadata__` are sorted too. The JSON is compact, escaped as
/// serde_json escapes it, and padded with spaces to a multiple of 8 bytes, as the reference writer does. So the same
/// inputs always give the same bytes, and reading a file and writing its tensors back reproduces it byte for byte.
///
/// Departure from the reference writer: it orders tensors by decreasing dtype alignment before name, so every tensor
/// starts at a multiple of its element size; here a tensor may start at any byte (`SafetensorsFile` reads both).
public struct SafetensorsWriter: Sendable {
    /// One tensor to be written.
    public struct Entry: Sendable, Equatable {
        /// What is stored: a float32 tensor encoded on write, or bytes already in the stored layout.
        public enum Payload: Sendable, Equatable {
            case tensor(Tensor)
            case bytes([UInt8])
        }

        /// The tensor's name in the header.
        public let name: String
        /// The stored dtype.
        public let elementType: ElementType
        /// Extent of each dimension, outermost first.
        public let shape: [Int]
        /// The data.
        public let payload: Payload
    }

    /// `__metadata__` string pairs.
    public var metadata: [String: String]
    /// Tensors in the order they were added (the file orders them by name).
    public internal(set) var entries: [Entry] = []

    /// An empty writer with `metadata`.
    public init(metadata: [String: String] = [:]) {
        self.metadata = metadata
    }

    /// Adds a float32 tensor, to be stored as `elementType`: `.float32` (bit for bit), `.float16` or `.bfloat16`
    /// (rounded to nearest even). Other element types are an `unsupportedType` error when writing.
    public mutating func add(_ name: String, _ tensor: Tensor, as elementType: ElementType = .float32) {
        entries.append(Entry(name: name, elementType: elementType, shape: tensor.shape, payload: .tensor(tensor)))
    }

    /// Adds bytes already in the stored layout (little-endian, row-major), such as packed integer codes (U8, I8,
    /// I32) or a tensor copied from another file. `bytes.count` must equal `shape` product × dtype size.
    public mutating func add(_ name: String, bytes: [UInt8], elementType: ElementType, shape: [Int]) {
        entries.append(Entry(name: name, elementType: elementType, shape: shape, payload: .bytes(bytes)))
    }

    /// Adds a copy of the bytes viewed by `bytes` (for instance `SafetensorsFile.rawBytes(_:)`).
    public mutating func add(_ name: String, bytes: UnsafeRawBufferPointer, elementType: ElementType, shape: [Int]) {
        add(name, bytes: [UInt8](bytes), elementType: elementType, shape: shape)
    }

    /// Bytes of the data section (all tensors, no header) once written.
    public var dataByteCount: Int { entries.reduce(0) { $0 + Self.storedByteCount(of: $1) } }

    /// Writes the file to `path` atomically (see `AtomicFile`).
    /// - Throws: `FormatError.duplicateTensor`; `.writeFailed` for the reserved name `__metadata__` and for I/O
    ///   failures; `.unsupportedType` for a float32 tensor stored as anything but F32, F16, BF16; `.absurdShape` for a
    ///   negative dimension or an overflowing byte count; `.byteCountMismatch` when raw bytes disagree with the shape.
    public func write(to path: String) throws(FormatError) {
        let (header, sorted) = try plan(file: path)
        try AtomicFile.write(to: path) { (output: inout AtomicFile.Output) throws(FormatError) in
            try output.append(header)
            for entry in sorted {
                try Self.encode(entry) { (chunk: UnsafeRawBufferPointer) throws(FormatError) in try output.append(chunk) }
            }
        }
    }

    /// The complete file as bytes, as `write(to:)` would write it.
    /// - Parameter file: the name errors report.
    /// - Throws: as `write(to:)`, except I/O failures.
    public func serialized(file: String = "<memory>") throws(FormatError) -> [UInt8] {
        let (header, sorted) = try plan(file: file)
        var result = header
        result.reserveCapacity(header.count + dataByteCount)
        for entry in sorted {
            Self.encode(entry) { (chunk: UnsafeRawBufferPointer) in result.append(contentsOf: chunk) }
        }
        return result
    }

    /// Validates the entries and builds the 8-byte length plus the padded header JSON.
    private func plan(file: String) throws(FormatError) -> (header: [UInt8], sorted: [Entry]) {
        try validate(file: file)
        let sorted = entries.sorted { $0.name < $1.name }
        var members: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.keys.sorted().map { "\(JSONValue.quoted($0)):\(JSONValue.quoted(metadata[$0] ?? ""))" }
            members.append("\"__metadata__\":{\(pairs.joined(separator: ","))}")
        }
        var offset = 0
        for entry in sorted {
            let end = offset + Self.storedByteCount(of: entry)
            let shape = entry.shape.map(String.init).joined(separator: ",")
            let dtype = entry.elementType.safetensorsName
            members.append(
                "\(JSONValue.quoted(entry.name)):{\"dtype\":\"\(dtype)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(end)]}")
            offset = end
        }
        var json = Array("{\(members.joined(separator: ","))}".utf8)
        // The reference pads with spaces so the data section starts 8-byte aligned.
        json.append(contentsOf: repeatElement(UInt8(ascii: " "), count: (8 - json.count % 8) % 8))
        var header: [UInt8] = []
        header.reserveCapacity(8 + json.count)
        for index in 0..<8 { header.append(UInt8(truncatingIfNeeded: UInt64(json.count) >> (8 * UInt64(index)))) }
        header.append(contentsOf: json)
        return (header, sorted)
    }

    /// Checks every entry (see `write(to:)`) without writing anything; `file` is the name errors report.
    func validate(file: String) throws(FormatError) {
        var seen: Set<String> = []
        for entry in entries {
            guard entry.name != "__metadata__" else {
                throw .writeFailed(file: file, reason: "the tensor name \"__metadata__\" is reserved for metadata")
            }
            guard seen.insert(entry.name).inserted else { throw .duplicateTensor(file: file, tensor: entry.name) }
            try Self.validate(entry, file: file)
        }
    }

    private static func validate(_ entry: Entry, file: String) throws(FormatError) {
        switch entry.payload {
        case .tensor:
            // A Tensor's shape is valid by construction; only the target dtype needs checking.
            guard [.float32, .float16, .bfloat16].contains(entry.elementType) else {
                throw .unsupportedType(
                    file: file, tensor: entry.name,
                    type: "\(entry.elementType.safetensorsName) (a float32 tensor is written as F32, F16 or BF16)")
            }
        case let .bytes(bytes):
            guard entry.shape.allSatisfy({ $0 >= 0 }) else {
                throw .absurdShape(file: file, tensor: entry.name, shape: entry.shape)
            }
            var expected = entry.elementType.bytesPerElement
            for extent in entry.shape {
                let (product, overflow) = expected.multipliedReportingOverflow(by: extent)
                guard !overflow else { throw .absurdShape(file: file, tensor: entry.name, shape: entry.shape) }
                expected = product
            }
            guard bytes.count == expected else {
                throw .byteCountMismatch(file: file, tensor: entry.name, expected: expected, found: bytes.count)
            }
        }
    }

    static func storedByteCount(of entry: Entry) -> Int {
        switch entry.payload {
        case let .tensor(tensor): tensor.elementCount * entry.elementType.bytesPerElement
        case let .bytes(bytes): bytes.count
        }
    }

    /// Hands `entry`'s stored bytes to `sink` in order, in chunks (half-precision encodes a block at a time).
    private static func encode<Failure: Error>(
        _ entry: Entry, into sink: (UnsafeRawBufferPointer) throws(Failure) -> Void
    ) throws(Failure) {
        switch entry.payload {
        case let .bytes(bytes):
            try bytes.withUnsafeBytes { buffer in Result { () throws(Failure) in try sink(buffer) } }.get()
        case let .tensor(tensor):
            switch entry.elementType {
            case .float32:
                #if _endian(little)
                try tensor.scalars.withUnsafeBytes { buffer in Result { () throws(Failure) in try sink(buffer) } }.get()
                #else
                try encodeConverted(tensor.scalars, into: sink) { $0.bitPattern }
                #endif
            case .float16: try encodeConverted(tensor.scalars, into: sink) { Float16($0).bitPattern }
            case .bfloat16: try encodeConverted(tensor.scalars, into: sink) { BFloat16($0).bitPattern }
            default: preconditionFailure("validated in plan(file:)")
            }
        }
    }

    /// Converts `scalars` a block at a time to little-endian `Stored` values and hands each block to `sink`.
    private static func encodeConverted<Stored: FixedWidthInteger, Failure: Error>(
        _ scalars: [Float], into sink: (UnsafeRawBufferPointer) throws(Failure) -> Void, _ convert: (Float) -> Stored
    ) throws(Failure) {
        let blockCount = 1 << 16
        var block = [Stored](repeating: 0, count: min(blockCount, scalars.count))
        var start = 0
        while start < scalars.count {
            let end = min(start + blockCount, scalars.count)
            for index in start..<end { block[index - start] = convert(scalars[index]).littleEndian }
            let byteCount = (end - start) * MemoryLayout<Stored>.size
            try block.withUnsafeBytes { buffer in
                Result { () throws(Failure) in try sink(UnsafeRawBufferPointer(rebasing: buffer[0..<byteCount])) }
            }.get()
            start = end
        }
    }
}
