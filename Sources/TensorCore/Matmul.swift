/// Matrix products on `Tensor`, through BLAS.
extension Tensor {
    /// `self · otherᵀ` for `self: [m, k]` and `other: [n, k]` (a linear layer: activations times weightᵀ).
    /// - Returns: `[m, n]`.
    public func matmulTransposed(_ other: Tensor) -> Tensor {
        precondition(rank == 2 && other.rank == 2 && shape[1] == other.shape[1], "matmulTransposed \(shape) x \(other.shape)ᵀ")
        let m = shape[0], k = shape[1], n = other.shape[0]
        var result = Tensor(shape: [m, n])
        scalars.withUnsafeBufferPointer { a in
            other.scalars.withUnsafeBufferPointer { b in
                result.scalars.withUnsafeMutableBufferPointer { c in
                    BLAS.sgemm(transposeA: false, transposeB: true, m: m, n: n, k: k,
                               a: a.baseAddress!, lda: k, b: b.baseAddress!, ldb: k, c: c.baseAddress!, ldc: n)
                }
            }
        }
        return result
    }

    /// `self · other` for `self: [m, k]` and `other: [k, n]`.
    /// - Returns: `[m, n]`.
    public func matmul(_ other: Tensor) -> Tensor {
        precondition(rank == 2 && other.rank == 2 && shape[1] == other.shape[0], "matmul \(shape) x \(other.shape)")
        let m = shape[0], k = shape[1], n = other.shape[1]
        var result = Tensor(shape: [m, n])
        scalars.withUnsafeBufferPointer { a in
            other.scalars.withUnsafeBufferPointer { b in
                result.scalars.withUnsafeMutableBufferPointer { c in
                    BLAS.sgemm(transposeA: false, transposeB: false, m: m, n: n, k: k,
                               a: a.baseAddress!, lda: k, b: b.baseAddress!, ldb: n, c: c.baseAddress!, ldc: n)
                }
            }
        }
        return result
    }
}
