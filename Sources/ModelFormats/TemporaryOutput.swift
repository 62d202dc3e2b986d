import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The temporary files and folders every output is built in before it is renamed into place (`AtomicFile`,
/// `AtomicFolder`): how they are named, which ones this process has open, and how stale ones are found.
///
/// A temporary sibling of `DIR/NAME` is `DIR/.NAME.quanta-tmp-PID-RANDOM`: hidden, never equal to an output name,
/// and carrying the writing process's id, so that a later write to the same `NAME` can tell a leftover of a killed
/// process (its PID is dead) from the work of one still running, and remove it. The registry lets an executable's
/// signal handler remove what is unfinished (`removeAllForTermination()`); the library itself installs no handlers.
public enum TemporaryOutput {
    /// What sits between the output's name and the owner's PID in a temporary name.
    public static let marker = ".quanta-tmp-"

    /// What to do with a registered path when the process is terminated.
    enum Cleanup: Equatable {
        /// Remove it (an unfinished file or folder).
        case remove
        /// Move it back to this path if nothing is there, else remove it (an old output set aside while the new one
        /// is renamed in).
        case restore(to: String)
    }

    struct State {
        var entries: [(path: String, cleanup: Cleanup)] = []
        var isTerminating = false
    }

    static let state = Mutex(State())

    /// A fresh temporary name beside `path`: `.NAME.quanta-tmp-PID-RANDOM` in the same directory (so the final
    /// rename never crosses a file system).
    public static func path(for path: String) -> String {
        // URL rather than NSString: NSString's deletingLastPathComponent traps on a bare one-letter name on Linux.
        let url = URL(fileURLWithPath: path)
        let name = ".\(url.lastPathComponent)\(marker)\(getpid())-\(String(UInt64.random(in: .min ... .max), radix: 16))"
        return url.deletingLastPathComponent().appendingPathComponent(name).path
    }

    /// The PID in `entry` when it is a temporary name of the output called `name`, else nil.
    static func ownerPID(of entry: String, outputName name: String) -> pid_t? {
        let prefix = ".\(name)\(marker)"
        guard entry.hasPrefix(prefix) else { return nil }
        let rest = entry.dropFirst(prefix.count)
        guard let dash = rest.firstIndex(of: "-"), let pid = pid_t(rest[..<dash]), pid > 0 else { return nil }
        return pid
    }

    /// Whether a process with `pid` exists (one we may not signal counts as existing).
    static func isAlive(_ pid: pid_t) -> Bool {
        kill(pid, 0) == 0 || errno == EPERM
    }

    /// Removes the temporary siblings of `path` left by processes that no longer run (killed before they could
    /// clean up). Those of live processes, this one included, are left alone.
    /// - Returns: the paths removed.
    @discardableResult
    public static func removeStale(besides path: String) -> [String] {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        let name = url.lastPathComponent
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        var removed: [String] = []
        for entry in entries.sorted() {
            guard let pid = ownerPID(of: entry, outputName: name), !isAlive(pid) else { continue }
            let stale = directory + "/" + entry
            if (try? FileManager.default.removeItem(atPath: stale)) != nil { removed.append(stale) }
        }
        return removed
    }

    /// Runs `create` (which makes `path`) and registers `path` for removal at termination, as one step with respect
    /// to `removeAllForTermination()`: the path is never created after the cleanup ran.
    static func register<E: Error>(_ path: String, cleanup: Cleanup = .remove, _ create: () throws(E) -> Void) throws(E) {
        try state.withLock { (state) throws(E) in
            if state.isTerminating { parkForever() }
            try create()
            state.entries.append((path, cleanup))
        }
    }

    /// Forgets `path` (it was renamed into place or removed), running `finish` (the rename or removal) under the same
    /// lock, so that termination sees either the registered temporary or the finished output.
    static func unregister<E: Error>(_ path: String, _ finish: () throws(E) -> Void) throws(E) {
        try state.withLock { (state) throws(E) in
            if state.isTerminating { parkForever() }
            try finish()
            state.entries.removeAll { $0.path == path }
        }
    }

    /// Forgets `path` without touching it.
    static func unregister(_ path: String) {
        unregister(path) { () throws(Never) in }
    }

    /// Whether `removeAllForTermination()` has run: a write that then fails (its folder was removed under it) must
    /// not report that as its own error, as the process is about to exit.
    public static var isTerminating: Bool { state.withLock { $0.isTerminating } }

    /// Removes every registered temporary (newest first) and puts back any old output set aside, for a signal
    /// handler that then exits. Later registrations block forever.
    /// - Returns: the paths removed.
    public static func removeAllForTermination() -> [String] {
        state.withLock { state in
            state.isTerminating = true
            var removed: [String] = []
            for (path, cleanup) in state.entries.reversed() {
                switch cleanup {
                case .remove:
                    if (try? FileManager.default.removeItem(atPath: path)) != nil { removed.append(path) }
                case let .restore(to: target):
                    if !FileManager.default.fileExists(atPath: target) {
                        _ = rename(path, target)
                    } else {
                        try? FileManager.default.removeItem(atPath: path)
                    }
                }
            }
            state.entries.removeAll()
            return removed
        }
    }

    /// Called by a writer whose work failed: when the failure is the termination's doing, waits for the exit instead
    /// of reporting it.
    static func parkIfTerminating() {
        if isTerminating { parkForever() }
    }

    /// Blocks the calling thread until the process exits (the signal handler's thread is exiting it).
    static func parkForever() -> Never {
        while true { sleep(60) }
    }
}
