import Dispatch
import Foundation
import ModelFormats

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// SIGINT and SIGTERM: remove the unfinished output (every temporary the library registered with `TemporaryOutput`)
/// and exit with 128 + the signal number, as shells report a process a signal ended.
///
/// The signals are ignored and delivered through dispatch sources instead, so the cleanup runs on an ordinary thread
/// (file removal is not async-signal-safe) while the command's own thread keeps working until the exit.
enum Interruption {
    /// Kept alive for the life of the process (a released source stops delivering).
    nonisolated(unsafe) private static var sources: [any DispatchSourceSignal] = []

    static func install() {
        for (number, name) in [(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM")] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                let removed = TemporaryOutput.removeAllForTermination()
                let what = removed.isEmpty ? "" : "; removed the unfinished output \(removed.joined(separator: ", "))"
                FileHandle.standardError.write(Data("\nerror: interrupted by \(name)\(what)\n".utf8))
                // _exit, not exit: the command's thread is still running and must not run atexit handlers with us.
                _exit(128 + number)
            }
            source.resume()
            sources.append(source)
        }
    }
}
