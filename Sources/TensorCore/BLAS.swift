#if canImport(Accelerate)
import Accelerate
#else
import COpenBLAS
#endif

/// Dense linear algebra through the platform BLAS (OpenBLAS on Linux, Accelerate on Apple platforms).
public enum BLAS {
    /// C = alpha · op(A) · op(B) + beta · C for row-major float32 matrices given as raw pointers.
    ///
    /// - Parameters: `a`: `[m, k]` (or `[k, m]` when `transposeA`), leading dimension `lda`;
    ///   `b`: `[k, n]` (or `[n, k]` when `transposeB`), leading dimension `ldb`; `c`: `[m, n]`, leading dimension `ldc`.
    @inlinable
    public static func sgemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        _ = singleThreaded
        cblas_sgemm(
            CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
            blasInt(m), blasInt(n), blasInt(k), alpha, a, blasInt(lda), b, blasInt(ldb), beta, c, blasInt(ldc))
    }

    /// y = alpha · A · x + beta · y with A row-major `[m, n]`.
    @inlinable
    public static func sgemv(
        m: Int, n: Int, alpha: Float = 1, a: UnsafePointer<Float>, lda: Int, x: UnsafePointer<Float>,
        beta: Float = 0, y: UnsafeMutablePointer<Float>
    ) {
        _ = singleThreaded
        cblas_sgemv(CblasRowMajor, CblasNoTrans, blasInt(m), blasInt(n), alpha, a, blasInt(lda), x, 1, beta, y, 1)
    }

    /// C = alpha · Aᵀ · A + beta · C on the upper triangle of C (row-major; the strict lower triangle is untouched),
    /// with A row-major `[rows, columns]`, leading dimension `lda`, and C `[columns, columns]`, leading dimension
    /// `ldc`. Half the flops of the equivalent `sgemm` (a Gram matrix such as GPTQ's XᵀX).
    @inlinable
    public static func ssyrkUpperTransposed(
        columns: Int, rows: Int, alpha: Float = 1, a: UnsafePointer<Float>, lda: Int, beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        _ = singleThreaded
        cblas_ssyrk(
            CblasRowMajor, CblasUpper, CblasTrans, blasInt(columns), blasInt(rows), alpha, a, blasInt(lda), beta, c,
            blasInt(ldc))
    }

    /// Quanta parallelizes around BLAS itself (splitting output columns across `Parallel` workers), so the library's
    /// own thread pool is switched off: OpenBLAS's spinning workers would otherwise compete with ours for the cores.
    @usableFromInline static let singleThreaded: Void = {
        #if !canImport(Accelerate)
        openblas_set_num_threads(1)
        #endif
    }()

    /// C[m, n] = A[m, k] · B[n, k]ᵀ (row-major; a linear layer's activations times its weightᵀ), split across
    /// `Parallel` workers, each running a single-threaded BLAS call. Many rows (prefill) are split by rows: each worker
    /// packs its own rows of A and streams all of B, so packing stays negligible next to the product. Few rows
    /// (decode) are split by output columns, each worker reading its own slice of the weight (sgemv when m == 1).
    public static func parallelMatmulTransposed(
        m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        if m == 1 && ldb == k {
            GEMV.run([GEMV.Job(weight: b, rows: n, output: c)], x: a, k: k)
            return
        }
        nonisolated(unsafe) let (ap, bp, cp) = (a, b, c)
        // Every BLAS call covers one fixed block (rowBlock rows, or 64 output columns) whatever the worker count:
        // OpenBLAS picks kernels (and so rounding) by the call's shape, so splitting by thread count made results
        // depend on QUANTA_THREADS. Workers take whole blocks; each block's result is the same on any of them.
        if m >= rowSplitThreshold {
            let blocks = (m + rowBlock - 1) / rowBlock
            Parallel.forEachChunk(count: blocks) { range in
                for block in range {
                    let start = block * rowBlock, end = min(m, start + rowBlock)
                    sgemm(transposeA: false, transposeB: true, m: end - start, n: n, k: k,
                          a: ap + start * lda, lda: lda, b: bp, ldb: ldb, c: cp + start * ldc, ldc: ldc)
                }
            }
            return
        }
        let blocks = (n + 63) / 64
        Parallel.forEachChunk(count: blocks, minimumPerChunk: m == 1 ? 8 : 2) { range in
            for block in range {
                let start = block * 64, end = min(n, start + 64)
                if m == 1 {
                    sgemv(m: end - start, n: k, a: bp + start * ldb, lda: ldb, x: ap, y: cp + start)
                } else {
                    sgemm(transposeA: false, transposeB: true, m: m, n: end - start, k: k,
                          a: ap, lda: lda, b: bp + start * ldb, ldb: ldb, c: cp + start, ldc: ldc)
                }
            }
        }
    }

    /// Rows per BLAS call when `parallelMatmulTransposed` splits by rows: a multiple of 16 (whole register tiles), and
    /// large, because each call packs all of B again (64-row calls made a 512-token prefill 28% slower than 256).
    public static let rowBlock = 256

    /// Rows from which `parallelMatmulTransposed` splits by rows instead of output columns.
    public static let rowSplitThreshold = 64

    #if canImport(Accelerate)
    @usableFromInline static func blasInt(_ value: Int) -> Int32 { Int32(value) }
    #else
    @usableFromInline static func blasInt(_ value: Int) -> blasint { blasint(value) }
    #endif
}
