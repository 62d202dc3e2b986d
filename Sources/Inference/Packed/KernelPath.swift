import CQuantKernels
import Foundation

/// Which implementation of the packed kernels runs: AVX-512 VNNI, AVX2, or portable C.
public enum KernelPath: String, Sendable, CaseIterable {
    case vnni, avx2, portable

    /// The best path this CPU supports, lowered by the environment variable `QUANTA_KERNEL` (`avx2` or `portable`)
    /// when it names a path the CPU supports (a request above the CPU's best is ignored: it would fault).
    public static let current: KernelPath = {
        let best = supported[0]
        if let name = ProcessInfo.processInfo.environment["QUANTA_KERNEL"], let forced = KernelPath(rawValue: name),
            forced.rank >= best.rank
        {
            return forced
        }
        return best
    }()

    /// Every path this CPU can run, best first (always ends with `portable`).
    public static let supported: [KernelPath] = allCases.filter { $0.isSupported }

    /// Whether this CPU can run the path.
    public var isSupported: Bool { qk_cpu_supports(code) != 0 }

    /// Position in the order vnni < avx2 < portable.
    var rank: Int { Self.allCases.firstIndex(of: self)! }

    /// The C side's number for the path.
    var code: Int32 {
        switch self {
        case .vnni: Int32(QK_PATH_VNNI)
        case .avx2: Int32(QK_PATH_AVX2)
        case .portable: Int32(QK_PATH_PORTABLE)
        }
    }
}
