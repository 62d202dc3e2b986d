import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a folder so that `path` holds either what was there before or the complete new folder, never a partial one.
///
/// The contents are built in a hidden sibling `.NAME.quanta-tmp-PID-RANDOM` (`TemporaryOutput`; same file system,
/// so the final rename is one step). Only once the new folder is complete is an existing `path` moved aside (to
/// another temporary name), the new folder renamed into place and the old one removed; if the rename fails, the old
/// one is moved back. On failure the temporary folder is removed and `path` is untouched. Both temporaries are
/// registered with `TemporaryOutput` while they exist, and stale ones of killed processes beside `path` are removed
/// before a write starts.
public enum AtomicFolder {
    /// A hidden temporary sibling of `path` (see `TemporaryOutput.path(for:)`).
    public static func temporarySibling(of path: String) -> String {
        TemporaryOutput.path(for: path)
    }

    /// Builds the folder with `body` (given the temporary folder's path, already created) and moves it to `path`,
    /// replacing what is there (callers decide whether replacing is allowed).
    /// - Throws: `FormatError.writeFailed` naming `path` when the temporary folder cannot be created (an unwritable
    ///   or missing parent) or renamed into place; what `body` throws. `path` is then unchanged and nothing is left.
    public static func write(to path: String, _ body: (String) throws -> Void) throws {
        TemporaryOutput.removeStale(besides: path)
        let temporary = TemporaryOutput.path(for: path)
        let parent = URL(fileURLWithPath: path).deletingLastPathComponent().path
        if !FileManager.default.fileExists(atPath: parent) {
            do {
                try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
            } catch {
                throw FormatError.writeFailed(file: path, reason: "cannot create the parent folder \(parent)")
            }
        }
        try TemporaryOutput.register(temporary) { () throws(FormatError) in
            guard mkdir(temporary, 0o755) == 0 else {
                throw .writeFailed(file: path, reason: "cannot create temporary folder \(temporary): \(errnoText())")
            }
        }
        do {
            try body(temporary)
            try commit(temporary, to: path)
        } catch {
            TemporaryOutput.parkIfTerminating()
            TemporaryOutput.unregister(temporary) { () throws(Never) in
                try? FileManager.default.removeItem(atPath: temporary)
            }
            throw error
        }
    }

    /// Renames the complete `temporary` to `path`, setting an existing `path` aside first and removing it after.
    static func commit(_ temporary: String, to path: String) throws(FormatError) {
        var status = stat()
        var aside: String?
        if lstat(path, &status) == 0 {
            let old = TemporaryOutput.path(for: path)
            try TemporaryOutput.register(old, cleanup: .restore(to: path)) { () throws(FormatError) in
                guard rename(path, old) == 0 else {
                    throw .writeFailed(file: path, reason: "cannot move the existing output aside to \(old): \(errnoText())")
                }
            }
            aside = old
        }
        do {
            try TemporaryOutput.unregister(temporary) { () throws(FormatError) in
                guard rename(temporary, path) == 0 else {
                    throw .writeFailed(file: path, reason: "rename from \(temporary): \(errnoText())")
                }
            }
        } catch {
            if let aside { TemporaryOutput.unregister(aside) { () throws(Never) in _ = rename(aside, path) } }
            throw error
        }
        if let aside {
            // Still registered while it is removed: an interruption now removes the rest (the new output is in place).
            try? FileManager.default.removeItem(atPath: aside)
            TemporaryOutput.unregister(aside)
        }
    }
}
