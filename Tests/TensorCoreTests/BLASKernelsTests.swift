import Foundation
import TensorCore
import Testing

@Suite struct BLASKernelsTests {
    static let avx512 = BLASKernels.cpuFlags("processor : 0\nflags\t\t: fpu sse4_2 avx avx2 fma avx512f avx512dq avx512bw avx512vl\n")!
    static let avx2 = BLASKernels.cpuFlags("flags : fpu sse4_2 avx avx2 fma\n")!

    @Test func aGenericCoreOnAnAVX512CPUGetsTheAVX512Kernels() {
        #expect(BLASKernels.recommendedCoreType(coreName: "Prescott", cpuFlags: Self.avx512, environment: [:]) == "SkylakeX")
        #expect(BLASKernels.recommendedCoreType(coreName: "Haswell", cpuFlags: Self.avx512, environment: [:]) == "SkylakeX")
        #expect(BLASKernels.recommendedCoreType(coreName: "Prescott", cpuFlags: Self.avx2, environment: [:]) == "Haswell")
    }

    @Test func aFittingCoreOrTheUsersChoiceIsLeftAlone() {
        #expect(BLASKernels.recommendedCoreType(coreName: "SkylakeX", cpuFlags: Self.avx512, environment: [:]) == nil)
        #expect(BLASKernels.recommendedCoreType(coreName: "Haswell", cpuFlags: Self.avx2, environment: [:]) == nil)
        #expect(BLASKernels.recommendedCoreType(coreName: "Prescott", cpuFlags: Self.avx512, environment: ["OPENBLAS_CORETYPE": "Haswell"]) == nil)
        #expect(BLASKernels.recommendedCoreType(coreName: "Prescott", cpuFlags: ["sse3"], environment: [:]) == nil)
        #expect(BLASKernels.cpuFlags("no flags here") == nil)
    }

    @Test func theRunningLibraryNamesItsCore() {
        #if !canImport(Accelerate)
        #expect(!(BLASKernels.coreName ?? "").isEmpty)
        #endif
    }
}
