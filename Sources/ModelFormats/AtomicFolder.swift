import Foundation

/// Writes a folder so that `path` holds either what was there before or the complete new folder, never a partial one.
///
/// The contents are built in a hidden sibling `.NAME.tmp-XXXXXXXX` (same file system, so the final rename is one
/// step); on success an existing `path` is removed and the temporary folder renamed into place, on failure the
/// temporary folder is removed and `path` is untouched.
public enum AtomicFolder {
    /// The hidden temporary sibling of `path` that a write builds in.
    public static func temporarySibling(of path: String) -> String {
        // URL rather than NSString: NSString's deletingLastPathComponent traps on a bare one-letter name on Linux.
        let url = URL(fileURLWithPath: path)
        let name = ".\(url.lastPathComponent).tmp-\(String(UInt32.random(in: .min ... .max), radix: 16))"
        return url.deletingLastPathComponent().appendingPathComponent(name).path
    }

    /// Builds the folder with `body` (given the temporary folder's path, already created) and moves it to `path`,
    /// replacing what is there.
    /// - Throws: what `body` or the file system throws; `path` is then unchanged and nothing is left behind.
    public static func write(to path: String, _ body: (String) throws -> Void) throws {
        let manager = FileManager.default
        let temporary = temporarySibling(of: path)
        try manager.createDirectory(atPath: temporary, withIntermediateDirectories: true)
        do {
            try body(temporary)
            if manager.fileExists(atPath: path) { try manager.removeItem(atPath: path) }
            try manager.moveItem(atPath: temporary, toPath: path)
        } catch {
            try? manager.removeItem(atPath: temporary)
            throw error
        }
    }
}
