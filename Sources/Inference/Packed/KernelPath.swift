import CQuantKernels
import Foundation

/// Which implementation of the packed kernels runs: AVX-512 VNNI, AVX2, or portable C.
public enum KernelPath: String, Sendable, CaseIterable {
    case vnni, avx2, portable

    /// The best path this CPU supports, or the one the environment variable `QUANTA_KERNEL` names (`vnni`, `avx2` or
    /// `portable`) to force a fallback for a whole program. A name that is not a path, or a path this CPU cannot run,
    /// stops the program with a message rather than running something else than asked.
    public static let current: KernelPath = {
        guard let name = ProcessInfo.processInfo.environment["QUANTA_KERNEL"], !name.isEmpty else {
            return supported[0]
        }
        guard let forced = KernelPath(rawValue: name) else {
            preconditionFailure(
                "QUANTA_KERNEL=\(name) is not a kernel path; allowed: \(allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
        precondition(
            forced.isSupported,
            "QUANTA_KERNEL=\(name): this CPU cannot run it; supported: \(supported.map(\.rawValue).joined(separator: ", "))"
        )
        return forced
    }()

    /// Every path this CPU can run, best first (always ends with `portable`).
    public static let supported: [KernelPath] = allCases.filter { $0.isSupported }

    /// Whether this CPU can run the path.
    public var isSupported: Bool { qk_cpu_supports(code) != 0 }

    /// The C side's number for the path.
    var code: Int32 {
        switch self {
        case .vnni: Int32(QK_PATH_VNNI)
        case .avx2: Int32(QK_PATH_AVX2)
        case .portable: Int32(QK_PATH_PORTABLE)
        }
    }
}
