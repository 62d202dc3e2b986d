import Foundation
import ModelFormats
import TensorCore

/// Synthetic inputs for the safetensors tests: temporary folders, deterministic values, hand-built files.
enum SafetensorsFixtures {
    /// Element counts for round trips: 1 and primes.
    static let elementCounts = [1, 2, 3, 7, 31, 127]

    /// A fresh empty folder under the system temporary directory; remove it with `removeDirectory(_:)`.
    static func makeDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("quanta-safetensors-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        return path
    }

    static func removeDirectory(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// File names in `directory`, sorted.
    static func listing(_ directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
    }

    /// Deterministic float32 values spread over about [-3, 3] (a cosine with an irrational step).
    static func values(count: Int, seed: Int = 0) -> [Float] {
        (0..<count).map { Float(3 * cos(Double($0) * 0.618_034 + Double(seed))) }
    }

    /// The values of `check_safetensors.py` (its docstring gives the formulas) for element `index` of `dtype`.
    static func interopValue(dtype: String, index: Int) -> Float {
        if dtype == "U8" { return Float((index * 37) % 251) }
        let value = (index * 37) % 101 - 50
        return ["F32", "F16", "BF16"].contains(dtype) ? Float(value) / 4 : Float(value)
    }

    /// A safetensors file from its parts: the 8-byte little-endian length (`declaredLength`, or the header's byte
    /// count), the header text as given (no padding added), then `data`.
    static func file(header: String, data: [UInt8] = [], declaredLength: UInt64? = nil) -> [UInt8] {
        file(headerBytes: Array(header.utf8), data: data, declaredLength: declaredLength)
    }

    /// As `file(header:data:declaredLength:)`, for headers that are not valid UTF-8.
    static func file(headerBytes: [UInt8], data: [UInt8] = [], declaredLength: UInt64? = nil) -> [UInt8] {
        let length = declaredLength ?? UInt64(headerBytes.count)
        return (0..<8).map { UInt8(truncatingIfNeeded: length >> (8 * UInt64($0))) } + headerBytes + data
    }

    /// Writes `bytes` to `name` in `directory` and returns the path.
    @discardableResult
    static func write(_ bytes: [UInt8], named name: String, in directory: String) throws -> String {
        let path = directory + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// What `stat(2)` says about a file that any write would change: inode, size, modification time (ns).
    struct FileStatus: Equatable {
        var inode: UInt64
        var byteCount: Int64
        var modifiedSeconds: Int
        var modifiedNanoseconds: Int
    }

    static func fileStatus(_ path: String) throws -> FileStatus {
        var status = stat()
        guard stat(path, &status) == 0 else { throw FormatError.unreadable(file: path, reason: "stat failed") }
        #if canImport(Darwin)
        let modified = status.st_mtimespec
        #else
        let modified = status.st_mtim
        #endif
        return FileStatus(
            inode: UInt64(status.st_ino), byteCount: Int64(status.st_size), modifiedSeconds: Int(modified.tv_sec),
            modifiedNanoseconds: Int(modified.tv_nsec))
    }

    /// Little-endian bytes of each value.
    static func littleEndianBytes<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
        values.flatMap { value in (0..<MemoryLayout<T>.size).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
    }

    /// Bit patterns of `a` and `b` agree element for element (NaN payloads and signed zeros included).
    static func sameBits(_ a: [Float], _ b: [Float]) -> Bool {
        a.map(\.bitPattern) == b.map(\.bitPattern)
    }
}
