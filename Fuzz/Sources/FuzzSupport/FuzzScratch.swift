import Foundation

/// A per-process scratch folder for loaders that only take a path: each iteration overwrites the same files, so the
/// fuzzer never fills the disk and the files stay in the page cache.
public enum FuzzScratch {
    /// `/tmp/quanta-fuzz-<target>-<pid>`, created on first use.
    public static func directory(_ target: String) -> String {
        let path = NSTemporaryDirectory() + "/quanta-fuzz-\(target)-\(getpid())"
        if !FileManager.default.fileExists(atPath: path) {
            try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        }
        return path
    }

    /// Writes `bytes` to `path`, replacing what was there. A failed write is a broken fuzzing set-up, not a finding
    /// in Quanta, so it stops the process with the reason.
    public static func write(_ bytes: some Collection<UInt8>, to path: String) {
        let data = Data(bytes)
        do { try data.write(to: URL(fileURLWithPath: path)) } catch {
            fatalError("fuzz scratch: cannot write \(path): \(error)")
        }
    }

    /// Removes `path` if it exists (a file the previous iteration wrote but this one does not).
    public static func remove(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }
}
