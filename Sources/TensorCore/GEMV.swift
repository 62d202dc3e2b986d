/// Matrix–vector products for single-token decoding, where the weights stream from memory once per token and the
/// cost is bandwidth: several products that share one input vector (q/k/v, gate/up) run in one parallel pass, their
/// rows split evenly across workers, so both cores stream for the whole pass instead of meeting at a barrier per
/// matrix.
public enum GEMV {
    /// One product y = W·x with `W: [rows, k]` row-major (leading dimension k).
    public struct Job: @unchecked Sendable {
        public let weight: UnsafePointer<Float>
        public let rows: Int
        public let output: UnsafeMutablePointer<Float>

        public init(weight: UnsafePointer<Float>, rows: Int, output: UnsafeMutablePointer<Float>) {
            self.weight = weight
            self.rows = rows
            self.output = output
        }
    }

    /// Runs every job against the same input `x` (`k` values), rows of all jobs split across workers.
    public static func run(_ jobs: [Job], x: UnsafePointer<Float>, k: Int) {
        // Work in units of 4 rows (the kernel's unroll); a job's tail of < 4 rows is its own unit. Unit u belongs to
        // the first job whose cumulative unit count exceeds u (jobs are few: q/k/v at most).
        var firstUnit = [0]
        for job in jobs { firstUnit.append(firstUnit.last! + (job.rows + 3) / 4) }
        nonisolated(unsafe) let input = x
        Parallel.forEachChunk(count: firstUnit.last!, minimumPerChunk: 16) { range in
            var jobIndex = 0
            for unit in range {
                while unit >= firstUnit[jobIndex + 1] { jobIndex += 1 }
                let job = jobs[jobIndex]
                let row = (unit - firstUnit[jobIndex]) * 4
                rows(job.weight + row * k, input, job.output + row, count: min(4, job.rows - row), k: k)
            }
        }
    }

    /// y[0..<count] = W[0..<count, :] · x with four independent accumulators per row.
    @inline(__always)
    static func rows(_ w: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int, k: Int) {
        if count == 4 {
            var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
            let w0 = w, w1 = w + k, w2 = w + 2 * k, w3 = w + 3 * k
            var i = 0
            while i + 16 <= k {
                let xv = load(x + i)
                a0.addProduct(load(w0 + i), xv)
                a1.addProduct(load(w1 + i), xv)
                a2.addProduct(load(w2 + i), xv)
                a3.addProduct(load(w3 + i), xv)
                i += 16
            }
            var s0 = a0.sum(), s1 = a1.sum(), s2 = a2.sum(), s3 = a3.sum()
            while i < k {
                s0 += w0[i] * x[i]; s1 += w1[i] * x[i]; s2 += w2[i] * x[i]; s3 += w3[i] * x[i]
                i += 1
            }
            y[0] = s0; y[1] = s1; y[2] = s2; y[3] = s3
            return
        }
        for r in 0..<count { y[r] = rowReference(w + r * k, x, k: k) }
    }

    /// Plain dot product of one row, the reference the unrolled kernel is tested against.
    static func rowReference(_ w: UnsafePointer<Float>, _ x: UnsafePointer<Float>, k: Int) -> Float {
        var acc = SIMD16<Float>()
        var i = 0
        while i + 16 <= k {
            acc.addProduct(load(w + i), load(x + i))
            i += 16
        }
        var sum = acc.sum()
        while i < k { sum += w[i] * x[i]; i += 1 }
        return sum
    }

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> SIMD16<Float> { UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self) }
}
