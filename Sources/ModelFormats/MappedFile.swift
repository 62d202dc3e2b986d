import Foundation

/// A read-only, memory-mapped file: its bytes are paged in on demand and never copied.
///
/// The mapping lives as long as the instance; readers hand out `UnsafeRawBufferPointer` views into it, which must
/// not outlive it. An input file is never written through this mapping.
public final class MappedFile: @unchecked Sendable {
    /// Path as given by the caller, used in error messages.
    public let path: String
    /// Size of the file in bytes.
    public let byteCount: Int
    /// The whole file.
    public let bytes: UnsafeRawBufferPointer
    private let base: UnsafeMutableRawPointer?

    /// Maps `path` read-only.
    /// - Throws: `FormatError.unreadable` when the file is missing, is a directory, or cannot be mapped.
    public init(path: String) throws(FormatError) {
        self.path = path
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else {
            throw .unreadable(file: path, reason: String(cString: strerror(errno)))
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw .unreadable(file: path, reason: String(cString: strerror(errno)))
        }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            throw .unreadable(file: path, reason: "not a regular file")
        }
        byteCount = Int(status.st_size)
        if byteCount == 0 {
            base = nil
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let mapped = mmap(nil, byteCount, PROT_READ, MAP_PRIVATE, descriptor, 0), mapped != MAP_FAILED else {
            throw .unreadable(file: path, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        base = mapped
        bytes = UnsafeRawBufferPointer(start: mapped, count: byteCount)
    }

    deinit {
        if let base { munmap(base, byteCount) }
    }
}
