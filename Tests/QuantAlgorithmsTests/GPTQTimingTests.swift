import Foundation
import QuantCore
import TensorCore
import Testing
import TestSupport

@testable import QuantAlgorithms

/// Timings of realistic layer sizes, off by default (set QUANTA_GPTQ_TIMING=1, build with -c release).
@Suite(.enabled(if: ProcessInfo.processInfo.environment["QUANTA_GPTQ_TIMING"] != nil))
struct GPTQTimingTests {
    static func seconds(_ body: () throws -> Void) rethrows -> Double {
        let start = ContinuousClock.now
        try body()
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    }

    @Test(arguments: [(1536, 576), (576, 1536)])
    func layer(outFeatures m: Int, inFeatures n: Int) throws {
        let rows = 2048
        let x = Fixtures.uniform(count: rows * n, seed: 1)
        var h = HessianAccumulator(columns: n)
        try x.withUnsafeBufferPointer { try h.accumulate($0.baseAddress!, rows: rows) }
        let w = GPTQTestData.weight(outFeatures: m, inFeatures: n, seed: 2)
        for (name, scheme) in [
            ("int4 g128", try GPTQTestData.scheme(.int4, groupSize: 128)),
            ("int4 per-channel", try GPTQTestData.scheme(.int4, symmetric: false)),
        ] {
            for actOrder in [false, true] {
                let gptq = GPTQ(try .init(actOrder: actOrder))
                _ = try gptq.quantize(w, hessian: h, scheme: scheme)  // warm-up
                var times: [Double] = []
                var result: GPTQ.Result?
                for _ in 0..<3 {
                    times.append(try Self.seconds { result = try gptq.quantize(w, hessian: h, scheme: scheme) })
                }
                times.sort()
                print(
                    "GPTQ [\(m), \(n)] \(name) actOrder=\(actOrder): median \(String(format: "%.3f", times[1])) s "
                        + "(min \(String(format: "%.3f", times[0]))), loss \(result!.loss) vs RTN \(result!.rtnLoss)")
            }
        }
    }

    @Test func hessianThroughput() throws {
        let (rows, columns, chunk) = (65536, 1536, 2048)
        let x = Fixtures.uniform(count: chunk * columns, seed: 3)
        var h = HessianAccumulator(columns: columns)
        let time = try Self.seconds {
            for _ in 0..<(rows / chunk) {
                try x.withUnsafeBufferPointer { try h.accumulate($0.baseAddress!, rows: chunk) }
            }
        }
        let flops = Double(rows) * Double(columns) * Double(columns)  // syrk: rows · columns² (half of 2·rows·columns²)
        print(
            "Hessian \(rows) x \(columns) in chunks of \(chunk): \(String(format: "%.3f", time)) s, "
                + "\(String(format: "%.1f", Double(rows) / time / 1000)) k rows/s, \(String(format: "%.1f", flops / time / 1e9)) GFLOP/s"
        )
    }
}

extension GPTQTimingTests {
    @Test func parts() throws {
        let n = 1536, m = 576
        let x = Fixtures.uniform(count: 2048 * n, seed: 1)
        var h = HessianAccumulator(columns: n)
        try x.withUnsafeBufferPointer { try h.accumulate($0.baseAddress!, rows: 2048) }
        let hd = h.symmetricMatrix()
        var a = hd
        for i in 0..<n { a[i * n + i] += 0.01 }
        var b = a
        print("dpotrf+dpotri \(n): \(try Self.seconds { try Cholesky.invert(&b, dimension: n) })")
        print("dpotrf upper \(n): \(try Self.seconds { try Cholesky.factor(&b, dimension: n, triangle: .upper) })")
        var c = a
        print(
            "inverseUpperFactor double \(n): \(try Self.seconds { try Cholesky.inverseUpperFactor(&c, dimension: n) })")
        var f = a.map(Float.init)
        print("spotrf+spotri \(n): \(try Self.seconds { try Cholesky.invert(&f, dimension: n) })")
        let w = GPTQTestData.weight(outFeatures: m, inFeatures: n, seed: 2)
        let scheme = try GPTQTestData.scheme(.int4, groupSize: 128)
        var problem: GPTQ.Problem?
        print(
            "problem: \(try Self.seconds { problem = try GPTQ.Problem(weight: w, hessian: h, scheme: scheme, configuration: .init()) })"
        )
        var solution: GPTQ.Solution?
        print("solve: \(try Self.seconds { solution = try problem!.solve(blockSize: 128) })")
        print("result: \(try Self.seconds { _ = try problem!.result(solution!, weight: w, hessian: h) })")
    }
}
