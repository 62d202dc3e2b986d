import Foundation
import Inference
import TensorCore
import Testing

/// Prints timings of the packed kernels next to the float (BLAS) product on SmolLM2's linear shapes; runs only when
/// QUANTA_PACKED_BENCH=1 (it checks nothing: a benchmark, not a timed test). Threads: QUANTA_THREADS (default: all).
///     QUANTA_PACKED_BENCH=1 QUANTA_THREADS=2 swift test -c release --skip-build --disable-xctest --filter PackedKernelBenchmark
struct PackedKernelBenchmarkTests {
    static let enabled = ProcessInfo.processInfo.environment["QUANTA_PACKED_BENCH"] == "1"
    /// (inFeatures, outFeatures) of SmolLM2-135M: q/o, k/v, gate/up, down, lm head.
    static let shapes: [(Int, Int)] = [(576, 576), (576, 192), (576, 1536), (1536, 576), (576, 49152)]

    @Test(.enabled(if: enabled)) func printPackedKernelTimings() throws {
        let paths =
            ProcessInfo.processInfo.environment["QUANTA_KERNEL"].flatMap(KernelPath.init(rawValue:)).map { [$0] }
            ?? KernelPath.supported
        print("threads \(Parallel.threadCount); medians in ms; GB/s of weight bytes for decode, GFLOP/s for prefill")
        for (inFeatures, outFeatures) in Self.shapes {
            let weightFloats = (0..<(outFeatures * inFeatures)).map { Float(($0 * 7919) % 255) / 255 - 0.5 }
            for rows in [1, 512] {
                let x = PackedFixtures.input(rows: rows, columns: inFeatures, seed: 3)
                var y = [Float](repeating: 0, count: rows * outFeatures)
                let float = Self.median {
                    x.withUnsafeBufferPointer { a in
                        weightFloats.withUnsafeBufferPointer { b in
                            y.withUnsafeMutableBufferPointer { c in
                                BLAS.parallelMatmulTransposed(
                                    m: rows, n: outFeatures, k: inFeatures, a: a.baseAddress!, lda: inFeatures,
                                    b: b.baseAddress!, ldb: inFeatures, c: c.baseAddress!, ldc: outFeatures)
                            }
                        }
                    }
                }
                print(String(format: "[%d->%d] rows %d float BLAS %.3f ms", inFeatures, outFeatures, rows, float * 1e3))
                let cases: [(String, PackedWeight.Format, Int, PackedActivation)] = [
                    ("W8A8", .int8, inFeatures, .int8PerToken), ("W8A16", .int8, inFeatures, .float),
                    ("W4A16 g32", .uint4, 32, .float), ("W4A8 g32", .uint4, 32, .int8PerToken),
                    ("FP8 W8A16", .fp8e4m3, inFeatures, .float),
                ]
                for (name, format, groupSize, activation) in cases {
                    let w = try PackedFixtures.weight(
                        format, outFeatures: outFeatures, inFeatures: inFeatures, groupSize: groupSize, seed: 1
                    ).packed
                    for path in paths {
                        let time = Self.median {
                            x.withUnsafeBufferPointer { a in
                                y.withUnsafeMutableBufferPointer { c in
                                    PackedMatmul.run(
                                        w, activation: activation, input: a.baseAddress!, rows: rows,
                                        output: c.baseAddress!, path: path)
                                }
                            }
                        }
                        let rate =
                            rows == 1
                            ? String(format: "%.1f GB/s", Double(w.byteCount) / time / 1e9)
                            : String(format: "%.0f GFLOP/s", 2 * Double(rows * inFeatures * outFeatures) / time / 1e9)
                        print(
                            String(
                                format: "  %@ %@ %.3f ms (%@, %.2fx float)",
                                name.padding(toLength: 10, withPad: " ", startingAt: 0),
                                path.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0), time * 1e3, rate,
                                float / time))
                    }
                }
            }
        }
    }

    /// Median seconds of `body` over enough repetitions for ~0.3 s, after a warm-up.
    static func median(_ body: () -> Void) -> Double {
        body()
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        let once = max(1e-6, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        let count = max(5, min(200, Int(0.3 / once)))
        var times: [Double] = []
        for _ in 0..<count {
            let t0 = DispatchTime.now().uptimeNanoseconds
            body()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        return times.sorted()[count / 2]
    }
}
