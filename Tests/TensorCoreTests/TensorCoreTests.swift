import Foundation
import TensorCore
import Testing
import TestSupport

@Suite struct MatmulTests {
    static func naive(_ a: [Float], _ b: [Float], m: Int, n: Int, k: Int) -> [Float] {
        var c = [Float](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var sum: Double = 0
                for l in 0..<k { sum += Double(a[i * k + l]) * Double(b[j * k + l]) }
                c[i * n + j] = Float(sum)
            }
        }
        return c
    }

    @Test(arguments: [(1, 1, 1), (1, 67, 13), (5, 130, 33), (17, 64, 64), (64, 200, 7)])
    func parallelProductMatchesNaive(m: Int, n: Int, k: Int) {
        let a = Fixtures.uniform(count: m * k, seed: 1), b = Fixtures.uniform(count: n * k, seed: 2)
        var c = [Float](repeating: .nan, count: m * n)
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                c.withUnsafeMutableBufferPointer { cp in
                    BLAS.parallelMatmulTransposed(m: m, n: n, k: k, a: ap.baseAddress!, lda: k, b: bp.baseAddress!, ldb: k, c: cp.baseAddress!, ldc: n)
                }
            }
        }
        let expected = Self.naive(a, b, m: m, n: n, k: k)
        #expect(Tolerance.maxAbsDifference(c, expected) < 1e-4)
        let viaTensor = Tensor(shape: [m, k], scalars: a).matmulTransposed(Tensor(shape: [n, k], scalars: b))
        #expect(Tolerance.maxAbsDifference(viaTensor.scalars, expected) < 1e-4)
    }

    @Test func parallelChunksCoverEveryIndexOnce() {
        for count in [0, 1, 2, 3, 1000] {
            var hits = [Int](repeating: 0, count: count)
            hits.withUnsafeMutableBufferPointer { buffer in
                nonisolated(unsafe) let base = buffer.baseAddress
                Parallel.forEachChunk(count: count) { range in for i in range { base![i] += 1 } }
            }
            #expect(hits.allSatisfy { $0 == 1 })
        }
    }
}

@Suite struct BFloat16Tests {
    @Test func roundsToNearestEvenAndKeepsSpecials() {
        #expect(BFloat16(1.0).bitPattern == 0x3F80)
        // 1 + 2^-8 lies exactly halfway between 1 and 1 + 2^-7: ties go to the even pattern (1.0).
        #expect(BFloat16(Float(bitPattern: 0x3F80_8000)).bitPattern == 0x3F80)
        #expect(BFloat16(Float(bitPattern: 0x3F81_8000)).bitPattern == 0x3F82)
        #expect(BFloat16(Float(bitPattern: 0x3F80_8001)).bitPattern == 0x3F81)
        #expect(BFloat16(.infinity).floatValue == .infinity)
        #expect(BFloat16(-.infinity).floatValue == -.infinity)
        #expect(BFloat16(.nan).floatValue.isNaN)
        #expect(BFloat16(Float.greatestFiniteMagnitude).floatValue == .infinity)  // rounds up past the largest bf16
        for value: Float in [0, -0.0, 3.140625, -65280] { #expect(BFloat16(value).floatValue == value) }
    }
}

@Suite struct GEMVTests {
    @Test(arguments: [1, 5, 16, 33, 576])
    func severalJobsMatchTheReferenceRowByRow(k: Int) {
        let rowCounts = [3, 8, 13]
        let weights = rowCounts.enumerated().map { Fixtures.uniform(count: $1 * k, seed: UInt64($0 + 10)) }
        let x = Fixtures.uniform(count: k, seed: 3)
        var out0 = [Float](repeating: .nan, count: 3), out1 = [Float](repeating: .nan, count: 8)
        var out2 = [Float](repeating: .nan, count: 13)
        let w0 = weights[0], w1 = weights[1], w2 = weights[2]
        w0.withUnsafeBufferPointer { a in w1.withUnsafeBufferPointer { b in w2.withUnsafeBufferPointer { c in
            x.withUnsafeBufferPointer { xp in
                out0.withUnsafeMutableBufferPointer { o0 in out1.withUnsafeMutableBufferPointer { o1 in
                    out2.withUnsafeMutableBufferPointer { o2 in
                        GEMV.run([
                            GEMV.Job(weight: a.baseAddress!, rows: 3, output: o0.baseAddress!),
                            GEMV.Job(weight: b.baseAddress!, rows: 8, output: o1.baseAddress!),
                            GEMV.Job(weight: c.baseAddress!, rows: 13, output: o2.baseAddress!),
                        ], x: xp.baseAddress!, k: k)
                    }
                }}
            }
        }}}
        let outputs = [out0, out1, out2]
        for (job, rows) in rowCounts.enumerated() {
            let expected = MatmulTests.naive(x, weights[job], m: 1, n: rows, k: k)
            #expect(Tolerance.maxAbsDifference(outputs[job], expected) < 1e-4, "job \(job)")
        }
    }
}
