/// Plain textbook versions of the LAPACK paths, in double precision, kept to test them against.
extension Cholesky {
    /// Cholesky–Banachiewicz: returns the lower factor `L` (`A = L · Lᵀ`) of row-major `a`.
    /// - Throws: `LinearAlgebraError.notPositiveDefinite` at the first pivot that is not positive.
    public static func lowerFactorReference(_ a: [Double], dimension n: Int) throws(LinearAlgebraError) -> [Double] {
        precondition(a.count == n * n)
        var l = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in 0...i {
                var sum = a[i * n + j]
                for k in 0..<j { sum -= l[i * n + k] * l[j * n + k] }
                if i == j {
                    guard sum > 0 else { throw .notPositiveDefinite(pivot: i, dimension: n) }
                    l[i * n + i] = sum.squareRoot()
                } else {
                    l[i * n + j] = sum / l[j * n + j]
                }
            }
        }
        return l
    }

    /// `A⁻¹` by solving `L · Lᵀ · X = I` column by column.
    /// - Throws: as `lowerFactorReference`.
    public static func inverseReference(_ a: [Double], dimension n: Int) throws(LinearAlgebraError) -> [Double] {
        let l = try lowerFactorReference(a, dimension: n)
        var inverse = [Double](repeating: 0, count: n * n)
        var y = [Double](repeating: 0, count: n)
        for column in 0..<n {
            for i in 0..<n {  // L · y = e_column
                var sum = i == column ? 1.0 : 0.0
                for k in 0..<i { sum -= l[i * n + k] * y[k] }
                y[i] = sum / l[i * n + i]
            }
            for i in stride(from: n - 1, through: 0, by: -1) {  // Lᵀ · x = y
                var sum = y[i]
                for k in (i + 1)..<n { sum -= l[k * n + i] * inverse[k * n + column] }
                inverse[i * n + column] = sum / l[i * n + i]
            }
        }
        return inverse
    }
}
