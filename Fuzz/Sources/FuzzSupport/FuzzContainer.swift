/// The byte layout that carries several files in one fuzz input: every file but the last is a little-endian `u32`
/// byte count followed by that many bytes; the last file is whatever remains. A count past the end takes the rest.
///
/// `make-fuzz-seeds` writes seeds in this layout with `pack`; the targets split inputs with `unpack`.
public enum FuzzContainer {
    /// Splits `data` into exactly `fileCount` parts (missing ones are empty).
    public static func unpack(_ data: UnsafeRawBufferPointer, fileCount: Int) -> [[UInt8]] {
        var parts: [[UInt8]] = []
        var offset = 0
        for index in 0..<fileCount {
            if index == fileCount - 1 {
                parts.append(Array(data[offset...]))
                break
            }
            guard data.count - offset >= 4 else {
                parts.append(Array(data[offset...]))
                offset = data.count
                continue
            }
            var length = 0
            for byte in 0..<4 { length |= Int(data[offset + byte]) << (8 * byte) }
            offset += 4
            let end = offset + min(length, data.count - offset)
            parts.append(Array(data[offset..<end]))
            offset = end
        }
        return parts
    }

    /// The inverse of `unpack` for seed files.
    public static func pack(_ files: [[UInt8]]) -> [UInt8] {
        var out: [UInt8] = []
        for (index, file) in files.enumerated() {
            if index < files.count - 1 {
                let count = UInt32(file.count)
                out += (0..<4).map { UInt8(truncatingIfNeeded: count >> (8 * $0)) }
            }
            out += file
        }
        return out
    }
}
