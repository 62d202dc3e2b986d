import Foundation

/// A one-line progress bar on standard error, drawn only when standard error is a terminal (so logs and pipes stay
/// clean). Thread-compatible, not thread-safe: update it from one thread.
public final class ProgressBar: @unchecked Sendable {
    private let label: String
    private let total: Int
    private let isTerminal: Bool
    private let start = Date()
    private var lastDraw = Date.distantPast

    /// A bar for `total` steps labelled `label`.
    public init(_ label: String, total: Int, enabled: Bool = isatty(STDERR_FILENO) == 1) {
        self.label = label
        self.total = max(total, 1)
        isTerminal = enabled
    }

    /// Redraws the bar at `done` steps (at most ten times a second, and always at the end).
    public func update(_ done: Int, detail: String = "") {
        guard isTerminal else { return }
        let now = Date()
        guard done >= total || now.timeIntervalSince(lastDraw) > 0.1 else { return }
        lastDraw = now
        let width = 30
        let filled = min(width, width * done / total)
        let elapsed = now.timeIntervalSince(start)
        let eta = done > 0 ? elapsed / Double(done) * Double(total - done) : 0
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        let line = String(format: "\r%@ %@ %d/%d  %.0fs elapsed, %.0fs left %@", label, bar, done, total, elapsed, eta, detail)
        FileHandle.standardError.write(Data(line.utf8))
        if done >= total { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
