import Foundation

/// Progress on standard error: a bar redrawn in place on a terminal, or, when standard error is a pipe or a log
/// file, plain lines (`calibration: 12/128 (9%)`) at most every `interval` seconds and at the end, with no `\r` or
/// escape codes. Thread-compatible, not thread-safe: update it from one thread.
public final class ProgressBar: @unchecked Sendable {
    /// How progress is shown.
    public enum Style: Sendable {
        /// One line redrawn with `\r`, at most ten times a second.
        case bar
        /// Plain lines, each ending in a newline.
        case lines
    }

    /// `.bar` when standard error is a terminal, `.lines` otherwise.
    public static var standardErrorStyle: Style { isatty(STDERR_FILENO) == 1 ? .bar : .lines }

    private let label: String
    private let total: Int
    private let style: Style
    private let interval: TimeInterval
    private let write: (String) -> Void
    private let start = Date()
    private var lastDraw = Date.distantPast
    private var lastDone: Int?

    /// A bar for `total` steps labelled `label` (trailing spaces, which align bars, are dropped from plain lines).
    /// - Parameters: `interval`: seconds between plain lines; `write`: where text goes (standard error by default).
    public init(
        _ label: String, total: Int, style: Style = ProgressBar.standardErrorStyle, interval: TimeInterval = 5,
        write: @escaping (String) -> Void = ProgressBar.writeToStandardError
    ) {
        self.label = label
        self.total = max(total, 1)
        self.style = style
        self.interval = interval
        self.write = write
    }

    /// Shows `done` steps: redraws the bar (at most ten times a second, and always at the end), or prints a line
    /// (the first update, then at most every `interval` seconds, and the end once).
    public func update(_ done: Int, detail: String = "") {
        let now = Date()
        let isEnd = done >= total
        switch style {
        case .bar:
            guard isEnd || now.timeIntervalSince(lastDraw) > 0.1 else { return }
            lastDraw = now
            let width = 30
            let filled = min(width, width * done / total)
            let elapsed = now.timeIntervalSince(start)
            let eta = done > 0 ? elapsed / Double(done) * Double(total - done) : 0
            let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
            write(String(format: "\r%@ %@ %d/%d  %.0fs elapsed, %.0fs left %@", label, bar, done, total, elapsed, eta, detail))
            if isEnd { write("\n") }
        case .lines:
            guard done != lastDone, isEnd || now.timeIntervalSince(lastDraw) >= interval else { return }
            lastDraw = now
            lastDone = done
            write(Self.line(label: label, done: done, total: total, detail: detail))
        }
    }

    /// `calibration: 12/128 (9%)`, then the detail if any, and a newline.
    static func line(label: String, done: Int, total: Int, detail: String) -> String {
        let name = label.reversed().drop { $0 == " " }.reversed()
        return "\(String(name)): \(done)/\(total) (\(100 * min(done, total) / total)%)" + (detail.isEmpty ? "" : " \(detail)") + "\n"
    }

    /// Prints a line of its own among the bars: on a terminal it first clears the bar being drawn (`\r`, erase line);
    /// elsewhere it is written as is.
    public static func log(_ line: String, style: Style = standardErrorStyle) {
        writeToStandardError(style == .bar ? "\r\u{1B}[K\(line)\n" : "\(line)\n")
    }

    /// Writes `text` to standard error unbuffered.
    public static func writeToStandardError(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}
