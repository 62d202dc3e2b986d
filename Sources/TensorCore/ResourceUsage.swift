import Foundation

/// Process resource figures.
public enum ResourceUsage {
    /// Peak resident set size of this process so far, in MiB.
    ///
    /// On Linux this is `VmHWM` from /proc/self/status: the high-water mark of this process's own address space.
    /// `getrusage`'s `ru_maxrss` is not used there because the kernel carries the parent's peak into a child
    /// started by vfork + exec (posix_spawn), so a small child of a large parent would report the parent's peak.
    public static func peakMemoryMB() -> Double {
        #if os(Linux)
        if let kilobytes = statusField("VmHWM:") { return kilobytes / 1024 }
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024
        #else
        var usage = rusage()
        getrusage(RUSAGE_SELF, &usage)
        return Double(usage.ru_maxrss) / (1024 * 1024)
        #endif
    }

    /// The numeric value (kB) of one `Name:   1234 kB` line of /proc/self/status.
    static func statusField(_ name: String) -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(name) {
            let digits = line.dropFirst(name.count).split(whereSeparator: { $0 == " " || $0 == "\t" }).first
            return digits.flatMap { Double($0) }
        }
        return nil
    }
}
