/// A bounds-checked little-endian cursor over a byte buffer: every read first checks the bytes left, so a
/// truncated or lying file fails with `FormatError.truncated` instead of reading past the end.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    let file: String
    private(set) var offset: Int

    init(bytes: UnsafeRawBufferPointer, file: String, offset: Int = 0) {
        self.bytes = bytes
        self.file = file
        self.offset = offset
    }

    var remaining: Int { bytes.count - offset }

    /// Throws unless `count` more bytes are available.
    func require(_ count: Int) throws(FormatError) {
        guard count >= 0, count <= remaining else {
            throw .truncated(file: file, at: offset, needed: count, available: remaining)
        }
    }

    mutating func read<T: FixedWidthInteger>(_ type: T.Type) throws(FormatError) -> T {
        let size = MemoryLayout<T>.size
        try require(size)
        var value: T = 0
        for index in 0..<size {
            value |= T(truncatingIfNeeded: bytes[offset + index]) << (8 * index)
        }
        offset += size
        return value
    }

    mutating func readFloat() throws(FormatError) -> Float { Float(bitPattern: try read(UInt32.self)) }
    mutating func readDouble() throws(FormatError) -> Double { Double(bitPattern: try read(UInt64.self)) }

    /// Reads `count` raw bytes.
    mutating func readBytes(_ count: Int) throws(FormatError) -> UnsafeRawBufferPointer {
        try require(count)
        let slice = UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)])
        offset += count
        return slice
    }

    /// Reads a u64 length, checks it against the bytes left, then decodes that many bytes as UTF-8.
    mutating func readString() throws(FormatError) -> String {
        let start = offset
        let length = try read(UInt64.self)
        guard length <= UInt64(remaining) else {
            throw .truncated(file: file, at: start, needed: Int(clamping: length), available: remaining)
        }
        let raw = try readBytes(Int(length))
        return String(decoding: raw, as: UTF8.self)
    }

    mutating func skip(to newOffset: Int) throws(FormatError) {
        guard newOffset >= offset, newOffset <= bytes.count else {
            throw .truncated(file: file, at: offset, needed: newOffset - offset, available: remaining)
        }
        offset = newOffset
    }
}
