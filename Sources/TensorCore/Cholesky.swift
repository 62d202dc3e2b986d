#if canImport(Accelerate)
    import Accelerate
#else
    import COpenBLAS
#endif

/// Cholesky factorization and inversion of symmetric positive definite matrices through LAPACK (`?potrf`, `?potri`):
/// OpenBLAS on Linux, Accelerate on Apple platforms. Matrices are row-major `[dimension, dimension]`; only the
/// symmetric matrix's values matter, so LAPACK's column-major view is the same matrix, and a row-major lower factor is
/// LAPACK's column-major upper one (`uplo = "U"`) and vice versa.
///
/// Double precision is there for GPTQ's H⁻¹: Hessians of real layers can be ill-conditioned enough that float32
/// pivots go negative where float64 ones do not.
public enum Cholesky {
    /// Which factor `factor` returns.
    public enum Triangle: Sendable {
        /// `A = L · Lᵀ`, `L` lower triangular.
        case lower
        /// `A = Uᵀ · U`, `U` upper triangular (`U = Lᵀ`).
        case upper
    }

    /// Factors `a` in place: on return it holds the requested triangular factor and zeros in the other triangle.
    /// - Parameters: `a`: row-major `[dimension, dimension]`, symmetric positive definite.
    /// - Throws: `LinearAlgebraError.nonFinite` (checked first; `a` unchanged) or `.notPositiveDefinite` naming the
    ///   failing pivot (`a` then holds partial results).
    public static func factor<T: LAPACKScalar>(
        _ a: UnsafeMutablePointer<T>, dimension: Int, triangle: Triangle
    ) throws(LinearAlgebraError) {
        try checkFinite(a, dimension: dimension)
        guard dimension > 0 else { return }
        try potrf(a, dimension: dimension, lapackUpper: triangle == .lower)
        zeroOtherTriangle(a, dimension: dimension, keepLower: triangle == .lower)
    }

    /// Replaces `a` by its inverse `A⁻¹` (both triangles), through the Cholesky factor.
    /// - Parameters: `a`: row-major `[dimension, dimension]`, symmetric positive definite.
    /// - Throws: `LinearAlgebraError.nonFinite`, `.notPositiveDefinite` (pivot of the failed factorization) or
    ///   `.singular`.
    public static func invert<T: LAPACKScalar>(_ a: UnsafeMutablePointer<T>, dimension: Int) throws(LinearAlgebraError)
    {
        try checkFinite(a, dimension: dimension)
        guard dimension > 0 else { return }
        // LAPACK "U" = row-major lower: potri leaves the inverse in the row-major lower triangle; mirror it up.
        try potrf(a, dimension: dimension, lapackUpper: true)
        var info: Int32 = 0
        _ = BLAS.singleThreaded
        T.potri(upper: true, dimension: Int32(dimension), a, info: &info)
        precondition(info >= 0, "?potri: illegal argument \(-info)")
        if info > 0 { throw .singular(pivot: Int(info) - 1, dimension: dimension) }
        for i in 0..<dimension {
            for j in (i + 1)..<dimension { a[i * dimension + j] = a[j * dimension + i] }
        }
    }

    /// Replaces `a` by the upper triangular `U` with `A⁻¹ = Uᵀ · U` (the Cholesky factor of the inverse, GPTQ's
    /// `Hinv`) without forming `A⁻¹`: with `P` the reversal permutation and `P·A·P = L̃·L̃ᵀ`, `U = P · L̃⁻¹ · P`
    /// (`Uᵀ·U = P·(P·A·P)⁻¹·P = A⁻¹`). One factorization and one triangular inverse (2n³/3 flops) instead of
    /// factor, invert and factor again (4n³/3), and no rounding from an explicit inverse.
    /// - Throws: `LinearAlgebraError.nonFinite`, `.notPositiveDefinite` (the pivot is in `A`'s own numbering) or
    ///   `.singular`.
    public static func inverseUpperFactor<T: LAPACKScalar>(
        _ a: UnsafeMutablePointer<T>, dimension n: Int
    ) throws(LinearAlgebraError) {
        try checkFinite(a, dimension: n)
        guard n > 0 else { return }
        // Reversing both indices of a row-major matrix reverses its storage: (i, j) ↔ (n−1−i, n−1−j).
        var buffer = UnsafeMutableBufferPointer(start: a, count: n * n)
        buffer.reverse()
        do {
            try potrf(a, dimension: n, lapackUpper: true)  // row-major lower L̃
        } catch .notPositiveDefinite(let pivot, _) {
            // LAPACK's leading minor of P·A·P is A's trailing one: name the pivot of the reversed order.
            throw .notPositiveDefinite(pivot: n - 1 - pivot, dimension: n)
        }
        var info: Int32 = 0
        T.trtri(upper: true, dimension: Int32(n), a, info: &info)
        precondition(info >= 0, "?trtri: illegal argument \(-info)")
        if info > 0 { throw .singular(pivot: n - Int(info), dimension: n) }
        zeroOtherTriangle(a, dimension: n, keepLower: true)
        buffer.reverse()
    }

    /// Array form of `inverseUpperFactor(_:dimension:)`.
    public static func inverseUpperFactor<T: LAPACKScalar>(_ a: inout [T], dimension: Int) throws(LinearAlgebraError) {
        try withMatrix(&a, dimension: dimension) { base throws(LinearAlgebraError) in
            try inverseUpperFactor(base, dimension: dimension)
        }
    }

    /// Array form of `factor(_:dimension:triangle:)`.
    public static func factor<T: LAPACKScalar>(
        _ a: inout [T], dimension: Int, triangle: Triangle
    ) throws(LinearAlgebraError) {
        try withMatrix(&a, dimension: dimension) { base throws(LinearAlgebraError) in
            try factor(base, dimension: dimension, triangle: triangle)
        }
    }

    /// Array form of `invert(_:dimension:)`.
    public static func invert<T: LAPACKScalar>(_ a: inout [T], dimension: Int) throws(LinearAlgebraError) {
        try withMatrix(&a, dimension: dimension) { base throws(LinearAlgebraError) in
            try invert(base, dimension: dimension)
        }
    }

    /// Calls `body` with the storage of the `[dimension, dimension]` matrix `a` (not at all when it is empty).
    private static func withMatrix<T: LAPACKScalar>(
        _ a: inout [T], dimension: Int, _ body: (UnsafeMutablePointer<T>) throws(LinearAlgebraError) -> Void
    ) throws(LinearAlgebraError) {
        precondition(a.count == dimension * dimension, "Cholesky: \(a.count) values for [\(dimension), \(dimension)]")
        try a.withUnsafeMutableBufferPointer { buffer throws(LinearAlgebraError) in
            guard let base = buffer.baseAddress else { return }
            try body(base)
        }
    }

    // MARK: - Helpers

    static func checkFinite<T: LAPACKScalar>(_ a: UnsafePointer<T>, dimension: Int) throws(LinearAlgebraError) {
        for i in 0..<(dimension * dimension) where !a[i].isFinite {
            throw .nonFinite(index: i, dimension: dimension)
        }
    }

    static func potrf<T: LAPACKScalar>(
        _ a: UnsafeMutablePointer<T>, dimension: Int, lapackUpper: Bool
    ) throws(LinearAlgebraError) {
        var info: Int32 = 0
        _ = BLAS.singleThreaded
        T.potrf(upper: lapackUpper, dimension: Int32(dimension), a, info: &info)
        precondition(info >= 0, "?potrf: illegal argument \(-info)")
        if info > 0 { throw .notPositiveDefinite(pivot: Int(info) - 1, dimension: dimension) }
    }

    static func zeroOtherTriangle<T: LAPACKScalar>(_ a: UnsafeMutablePointer<T>, dimension n: Int, keepLower: Bool) {
        for i in 0..<n {
            if keepLower {
                for j in (i + 1)..<n { a[i * n + j] = 0 }
            } else {
                for j in 0..<i { a[i * n + j] = 0 }
            }
        }
    }
}

/// Float types with LAPACK Cholesky routines (`spotrf`/`spotri`, `dpotrf`/`dpotri`), in LAPACK's column-major terms.
public protocol LAPACKScalar: BinaryFloatingPoint {
    static func potrf(upper: Bool, dimension: Int32, _ a: UnsafeMutablePointer<Self>, info: inout Int32)
    static func potri(upper: Bool, dimension: Int32, _ a: UnsafeMutablePointer<Self>, info: inout Int32)
    /// Inverse of a non-unit triangular matrix in place (`?trtri`).
    static func trtri(upper: Bool, dimension: Int32, _ a: UnsafeMutablePointer<Self>, info: inout Int32)
}

#if canImport(Accelerate)
    // Accelerate's legacy CLAPACK interface: mutable pointers, no hidden string lengths.
    extension Float: LAPACKScalar {
        public static func potrf(upper: Bool, dimension: Int32, _ a: UnsafeMutablePointer<Float>, info: inout Int32) {
            var uplo: CChar = upper ? 85 : 76, n = dimension, lda = dimension
            _ = spotrf_(&uplo, &n, a, &lda, &info)
        }
        public static func potri(upper: Bool, dimension: Int32, _ a: UnsafeMutablePointer<Float>, info: inout Int32) {
            var uplo: CChar = upper ? 85 : 76, n = dimension, lda = dimension
            _ = spotri_(&uplo, &n, a, &lda, &info)
        }
        public static func trtri(upper: Bool, dimension: Int32, _ a: UnsafeMutablePointer<Float>, info: inout Int32) {
            var uplo: CChar = upper ? 85 : 76, diag: CChar = 78, n = dimension, lda = dimension
            _ = strtri_(&uplo, &diag, &n, a, &lda, &info)
        }
    }

    extension Double: LAPACKScalar {
        public static func potrf(upper: Bool, dimension: Int32, _ a: UnsafeMutablePointer<Double>, info: inout Int32) {
            var uplo: CChar = upper ? 85 : 76, n = dimension, lda = dimension
            _ = dpotrf_(&uplo, &n, a, &lda, &info)
        }
        public static func potri(upper: Bool, dimension: Int32, _ a: UnsafeMutablePointer<Double>, info: inout Int32) {
            var uplo: CChar = upper ? 85 : 76, n = dimension, lda = dimension
            _ = dpotri_(&uplo, &n, a, &lda, &info)
        }
        public static func trtri(upper: Bool, dimension: Int32, _ a: UnsafeMutablePointer<Double>, info: inout Int32) {
            var uplo: CChar = upper ? 85 : 76, diag: CChar = 78, n = dimension, lda = dimension
            _ = dtrtri_(&uplo, &diag, &n, a, &lda, &info)
        }
    }
#else
    // Fortran LAPACK from libopenblas: the trailing argument is the hidden length (1) of the `uplo` string.
    extension Float: LAPACKScalar {
        public static func potrf(upper: Bool, dimension: Int32, _ a: UnsafeMutablePointer<Float>, info: inout Int32) {
            var uplo: CChar = upper ? 85 : 76, n = dimension, lda = dimension
            spotrf_(&uplo, &n, a, &lda, &info, 1)
        }
        public static func potri(upper: Bool, dimension: Int32, _ a: UnsafeMutablePointer<Float>, info: inout Int32) {
            var uplo: CChar = upper ? 85 : 76, n = dimension, lda = dimension
            spotri_(&uplo, &n, a, &lda, &info, 1)
        }
        public static func trtri(upper: Bool, dimension: Int32, _ a: UnsafeMutablePointer<Float>, info: inout Int32) {
            var uplo: CChar = upper ? 85 : 76, diag: CChar = 78, n = dimension, lda = dimension
            strtri_(&uplo, &diag, &n, a, &lda, &info, 1, 1)
        }
    }

    extension Double: LAPACKScalar {
        public static func potrf(upper: Bool, dimension: Int32, _ a: UnsafeMutablePointer<Double>, info: inout Int32) {
            var uplo: CChar = upper ? 85 : 76, n = dimension, lda = dimension
            dpotrf_(&uplo, &n, a, &lda, &info, 1)
        }
        public static func potri(upper: Bool, dimension: Int32, _ a: UnsafeMutablePointer<Double>, info: inout Int32) {
            var uplo: CChar = upper ? 85 : 76, n = dimension, lda = dimension
            dpotri_(&uplo, &n, a, &lda, &info, 1)
        }
        public static func trtri(upper: Bool, dimension: Int32, _ a: UnsafeMutablePointer<Double>, info: inout Int32) {
            var uplo: CChar = upper ? 85 : 76, diag: CChar = 78, n = dimension, lda = dimension
            dtrtri_(&uplo, &diag, &n, a, &lda, &info, 1, 1)
        }
    }
#endif
