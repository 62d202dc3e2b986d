import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes files so that a reader sees either the old contents or the complete new contents, never a partial file.
///
/// The bytes go to `.NAME.quanta-tmp-PID-RANDOM` in the same directory (`TemporaryOutput`; so the rename never
/// crosses a file system), are flushed with `fsync(2)`, and the temporary file is then moved over `path` with
/// `rename(2)`, which POSIX makes atomic. On any failure (a full disk, an unwritable folder) the temporary file is
/// removed and `path` is left as it was; stale temporaries of killed processes beside `path` are removed first. The
/// temporary is registered with `TemporaryOutput` while it exists, so a signal handler can remove it. The directory
/// itself is not fsynced: after a power loss the rename may be lost, but never half done.
public enum AtomicFile {
    /// Sequential output into the temporary file of `AtomicFile.write(to:_:)`.
    public struct Output {
        /// The final path (not the temporary one), for error messages.
        public let path: String
        /// Bytes appended so far.
        public private(set) var byteCount = 0
        fileprivate let descriptor: Int32

        fileprivate init(path: String, descriptor: Int32) {
            self.path = path
            self.descriptor = descriptor
        }

        /// Appends `bytes`, retrying partial writes and `EINTR`.
        /// - Throws: `FormatError.writeFailed` when the system call fails (disk full, I/O error).
        public mutating func append(_ bytes: UnsafeRawBufferPointer) throws(FormatError) {
            guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
            var written = 0
            while written < bytes.count {
                // Linux writes at most 0x7ffff000 bytes per call; smaller chunks keep every platform in range.
                let chunk = min(bytes.count - written, 1 << 30)
                let result = systemWrite(descriptor, base + written, chunk)
                if result < 0 {
                    if errno == EINTR { continue }
                    throw .writeFailed(file: path, reason: "write at byte \(byteCount + written): \(errnoText())")
                }
                written += result
            }
            byteCount += written
        }

        /// Appends the bytes of `data`.
        public mutating func append(_ data: Data) throws(FormatError) {
            // withUnsafeBytes rethrows untyped errors; a Result carries the typed one across.
            try data.withUnsafeBytes { buffer in Result { () throws(FormatError) in try append(buffer) } }.get()
        }

        /// Appends the bytes of `bytes`.
        public mutating func append(_ bytes: [UInt8]) throws(FormatError) {
            try bytes.withUnsafeBytes { buffer in Result { () throws(FormatError) in try append(buffer) } }.get()
        }
    }

    /// Replaces the file at `path` with `data` atomically.
    /// - Throws: `FormatError.writeFailed` naming `path` and the failing step; `path` is then unchanged.
    public static func write(_ data: Data, to path: String) throws(FormatError) {
        try write(to: path) { (output: inout Output) throws(FormatError) in try output.append(data) }
    }

    /// Replaces the file at `path` atomically with whatever `body` appends to its `Output`.
    ///
    /// Streaming lets large files (model exports) be written without first assembling them in memory.
    /// - Throws: `FormatError.writeFailed` for a failing system call, or whatever `body` throws; in both cases the
    ///   temporary file is removed and `path` is unchanged.
    public static func write(to path: String, _ body: (inout Output) throws(FormatError) -> Void) throws(FormatError) {
        TemporaryOutput.removeStale(besides: path)
        let temporaryPath = TemporaryOutput.path(for: path)
        // O_EXCL: never write through a file (or symlink) that someone else created under the temporary name.
        var descriptor: Int32 = -1
        var reason = ""
        TemporaryOutput.register(temporaryPath) {
            descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            if descriptor < 0 { reason = errnoText() }
        }
        guard descriptor >= 0 else {
            TemporaryOutput.unregister(temporaryPath)
            throw .writeFailed(file: path, reason: "cannot create temporary file \(temporaryPath): \(reason)")
        }
        var isOpen = true
        func discard() {
            if isOpen { close(descriptor) }
            TemporaryOutput.unregister(temporaryPath) { _ = unlink(temporaryPath) }
        }
        do throws(FormatError) {
            var output = Output(path: path, descriptor: descriptor)
            try body(&output)
            guard fsync(descriptor) == 0 else {
                throw .writeFailed(file: path, reason: "fsync of \(temporaryPath): \(errnoText())")
            }
            isOpen = false
            // close can report a deferred write error (NFS); the descriptor is released either way.
            guard close(descriptor) == 0 else {
                throw .writeFailed(file: path, reason: "close of \(temporaryPath): \(errnoText())")
            }
            try TemporaryOutput.unregister(temporaryPath) { () throws(FormatError) in
                guard rename(temporaryPath, path) == 0 else {
                    throw .writeFailed(file: path, reason: "rename from \(temporaryPath): \(errnoText())")
                }
            }
        } catch {
            TemporaryOutput.parkIfTerminating()
            discard()
            throw error
        }
    }
}

private func systemWrite(_ descriptor: Int32, _ buffer: UnsafeRawPointer, _ byteCount: Int) -> Int {
    write(descriptor, buffer, byteCount)
}

func errnoText() -> String {
    String(cString: strerror(errno))
}
