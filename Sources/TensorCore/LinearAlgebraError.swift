/// What can go wrong in TensorCore's dense linear algebra (Cholesky factorization and inversion).
public enum LinearAlgebraError: Error, Equatable, CustomStringConvertible {
    /// The matrix is not (numerically) positive definite: the leading minor ending at 0-based `pivot` is not
    /// positive (LAPACK `potrf` info = pivot + 1).
    case notPositiveDefinite(pivot: Int, dimension: Int)
    /// A diagonal element of the factor is zero, so the matrix is singular (LAPACK `potri` info = pivot + 1).
    case singular(pivot: Int, dimension: Int)
    /// The input holds a NaN or infinity at row-major `index`.
    case nonFinite(index: Int, dimension: Int)

    public var description: String {
        switch self {
        case let .notPositiveDefinite(pivot, n):
            "matrix [\(n), \(n)] is not positive definite: the leading minor of order \(pivot + 1) (pivot \(pivot)) is not positive"
        case let .singular(pivot, n):
            "matrix [\(n), \(n)] is singular: diagonal element \(pivot) of its Cholesky factor is zero"
        case let .nonFinite(index, n):
            "matrix [\(n), \(n)] holds a non-finite value at row \(index / max(n, 1)), column \(index % max(n, 1))"
        }
    }
}
