#if !canImport(Accelerate)
import COpenBLAS
import Foundation
#endif

/// Which kernels OpenBLAS runs, and the ones it should run on this CPU.
///
/// OpenBLAS's dynamic-arch build picks its kernels by the CPU's family and model when the library loads. A virtual
/// machine that reports a generic model ("Intel(R) Xeon(R) Processor") gets the Prescott (SSE3) kernels even when the
/// CPU has AVX-512: on this project's 2-core machines that makes every matrix product about 4× slower (SmolLM2
/// prefill 135 vs 565 tokens/s). The choice can only be made before the library loads, through `OPENBLAS_CORETYPE`;
/// `recommendedCoreType` says what to set when the user has not set it.
public enum BLASKernels {
    /// The kernel family OpenBLAS chose ("Prescott", "Haswell", "SkylakeX", …); nil with Accelerate.
    public static var coreName: String? {
        #if canImport(Accelerate)
        return nil
        #else
        guard let name = openblas_get_corename() else { return nil }
        return String(cString: name)
        #endif
    }

    /// The OpenBLAS core type to set for this CPU, or nil when OpenBLAS already runs kernels of the CPU's vector width
    /// (or the user chose one with `OPENBLAS_CORETYPE`, or the platform is not OpenBLAS on Linux).
    public static func recommendedCoreType(
        coreName: String? = BLASKernels.coreName, cpuFlags: Set<String>? = BLASKernels.cpuFlags(),
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> String? {
        guard environment["OPENBLAS_CORETYPE"] == nil, let core = coreName?.lowercased(), let flags = cpuFlags else { return nil }
        let avx512Cores: Set = ["skylakex", "cooperlake", "sapphirerapids"]
        let avx2Cores = avx512Cores.union(["haswell", "zen"])
        if flags.isSuperset(of: ["avx512f", "avx512bw", "avx512vl", "avx512dq"]), !avx512Cores.contains(core) { return "SkylakeX" }
        if flags.isSuperset(of: ["avx2", "fma"]), !avx2Cores.contains(core) { return "Haswell" }
        return nil
    }

    /// The CPU's feature flags from /proc/cpuinfo (Linux), nil where it cannot be read.
    public static func cpuFlags(_ cpuinfo: String? = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) -> Set<String>? {
        guard let line = cpuinfo?.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
            let colon = line.firstIndex(of: ":")
        else { return nil }
        return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
    }
}
