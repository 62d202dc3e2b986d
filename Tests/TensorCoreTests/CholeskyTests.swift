import TensorCore
import Testing
import TestSupport

@Suite struct CholeskyTests {
    /// Largest |LAPACK − reference| allowed, relative to the largest magnitude of the reference.
    static let doubleTolerance = 1e-10
    static let floatTolerance = 1e-4

    /// A well-conditioned SPD matrix `B·Bᵀ / n + I` from seeded uniform `B`.
    static func spd(_ n: Int, seed: UInt64) -> [Double] {
        let b = Fixtures.uniform(count: n * n, seed: seed).map(Double.init)
        var a = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in 0..<n {
                var sum = 0.0
                for k in 0..<n { sum += b[i * n + k] * b[j * n + k] }
                a[i * n + j] = sum / Double(n) + (i == j ? 1 : 0)
            }
        }
        return a
    }

    static func maxRelativeDifference(_ a: [Double], _ b: [Double]) -> Double {
        let scale = max(b.map(abs).max() ?? 1, 1e-300)
        return zip(a, b).map { abs($0 - $1) }.max().map { $0 / scale } ?? 0
    }

    static func transpose(_ a: [Double], _ n: Int) -> [Double] {
        (0..<(n * n)).map { a[($0 % n) * n + $0 / n] }
    }

    @Test(arguments: [1, 2, 7, 33, 64])
    func doubleFactorsMatchReference(n: Int) throws {
        let a = Self.spd(n, seed: UInt64(n))
        let lower = try Cholesky.lowerFactorReference(a, dimension: n)
        var l = a
        try Cholesky.factor(&l, dimension: n, triangle: .lower)
        var u = a
        try Cholesky.factor(&u, dimension: n, triangle: .upper)
        let lDifference = Self.maxRelativeDifference(l, lower)
        let uDifference = Self.maxRelativeDifference(u, Self.transpose(lower, n))
        #expect(lDifference < Self.doubleTolerance, "lower: largest relative difference \(lDifference)")
        #expect(uDifference < Self.doubleTolerance, "upper: largest relative difference \(uDifference)")
    }

    @Test(arguments: [1, 7, 33])
    func floatFactorMatchesReference(n: Int) throws {
        let a = Self.spd(n, seed: 100 + UInt64(n))
        let lower = try Cholesky.lowerFactorReference(a, dimension: n)
        var l = a.map(Float.init)
        try Cholesky.factor(&l, dimension: n, triangle: .lower)
        let difference = Self.maxRelativeDifference(l.map(Double.init), lower)
        #expect(difference < Self.floatTolerance, "largest relative difference \(difference)")
    }

    @Test(arguments: [1, 2, 7, 33, 64])
    func inverseMatchesReference(n: Int) throws {
        let a = Self.spd(n, seed: 200 + UInt64(n))
        let expected = try Cholesky.inverseReference(a, dimension: n)
        var inverse = a
        try Cholesky.invert(&inverse, dimension: n)
        let difference = Self.maxRelativeDifference(inverse, expected)
        #expect(difference < Self.doubleTolerance, "largest relative difference \(difference)")
        var floatInverse = a.map(Float.init)
        try Cholesky.invert(&floatInverse, dimension: n)
        let floatDifference = Self.maxRelativeDifference(floatInverse.map(Double.init), expected)
        #expect(floatDifference < Self.floatTolerance, "float: largest relative difference \(floatDifference)")
        // A · A⁻¹ = I
        var worst = 0.0
        for i in 0..<n {
            for j in 0..<n {
                var sum = 0.0
                for k in 0..<n { sum += a[i * n + k] * inverse[k * n + j] }
                worst = max(worst, abs(sum - (i == j ? 1 : 0)))
            }
        }
        #expect(worst < 1e-10, "|A·A⁻¹ − I| up to \(worst)")
    }

    @Test(arguments: [1, 2, 7, 33, 64])
    func inverseUpperFactorMatchesFactorOfInverse(n: Int) throws {
        let a = Self.spd(n, seed: 300 + UInt64(n))
        let inverse = try Cholesky.inverseReference(a, dimension: n)
        let expected = Self.transpose(try Cholesky.lowerFactorReference(inverse, dimension: n), n)
        var u = a
        try Cholesky.inverseUpperFactor(&u, dimension: n)
        let difference = Self.maxRelativeDifference(u, expected)
        #expect(difference < Self.doubleTolerance, "largest relative difference \(difference)")
        var f = a.map(Float.init)
        try Cholesky.inverseUpperFactor(&f, dimension: n)
        let floatDifference = Self.maxRelativeDifference(f.map(Double.init), expected)
        #expect(floatDifference < Self.floatTolerance, "float: largest relative difference \(floatDifference)")
    }

    @Test func indefiniteMatrixNamesThePivot() throws {
        // diag(4, 1, −1, 2): the leading minor of order 3 is negative.
        let n = 4
        var a = [Double](repeating: 0, count: n * n)
        for (i, v) in [4.0, 1, -1, 2].enumerated() { a[i * n + i] = v }
        var copy = a
        #expect(throws: LinearAlgebraError.notPositiveDefinite(pivot: 2, dimension: 4)) {
            try Cholesky.factor(&copy, dimension: n, triangle: .upper)
        }
        copy = a
        #expect(throws: LinearAlgebraError.notPositiveDefinite(pivot: 2, dimension: 4)) {
            try Cholesky.invert(&copy, dimension: n)
        }
        copy = a
        // Factored in reverse order, the first failing leading minor of P·A·P is A's trailing [2...3]: pivot 2.
        #expect(throws: LinearAlgebraError.notPositiveDefinite(pivot: 2, dimension: 4)) {
            try Cholesky.inverseUpperFactor(&copy, dimension: n)
        }
        var floats = a.map(Float.init)
        #expect(throws: LinearAlgebraError.notPositiveDefinite(pivot: 2, dimension: 4)) {
            try Cholesky.factor(&floats, dimension: n, triangle: .lower)
        }
        #expect(throws: LinearAlgebraError.notPositiveDefinite(pivot: 2, dimension: 4)) {
            try Cholesky.lowerFactorReference(a, dimension: n)
        }
        // A singular PSD matrix [[1, 1], [1, 1]] fails at the second pivot.
        var singular: [Double] = [1, 1, 1, 1]
        #expect(throws: LinearAlgebraError.notPositiveDefinite(pivot: 1, dimension: 2)) {
            try Cholesky.factor(&singular, dimension: 2, triangle: .lower)
        }
    }

    @Test func nonFiniteInputIsNamed() {
        var a: [Double] = [1, 0, 0, .nan]
        #expect(throws: LinearAlgebraError.nonFinite(index: 3, dimension: 2)) {
            try Cholesky.factor(&a, dimension: 2, triangle: .lower)
        }
        #expect(a[3].isNaN && a[0] == 1, "input left unchanged")
        #expect(
            LinearAlgebraError.notPositiveDefinite(pivot: 2, dimension: 4).description
                == "matrix [4, 4] is not positive definite: the leading minor of order 3 (pivot 2) is not positive")
    }

    @Test func upperTriangleGramMatchesNaive() {
        let (rows, columns) = (37, 13)
        let x = Fixtures.uniform(count: rows * columns, seed: 9)
        var c = [Float](repeating: -7, count: columns * columns)
        x.withUnsafeBufferPointer { xp in
            c.withUnsafeMutableBufferPointer { cp in
                BLAS.ssyrkUpperTransposed(
                    columns: columns, rows: rows, a: xp.baseAddress!, lda: columns, c: cp.baseAddress!, ldc: columns)
            }
        }
        var worst: Float = 0
        for i in 0..<columns {
            for j in 0..<columns {
                if j < i {
                    #expect(c[i * columns + j] == -7, "lower triangle untouched")
                    continue
                }
                var sum = 0.0
                for r in 0..<rows { sum += Double(x[r * columns + i]) * Double(x[r * columns + j]) }
                worst = max(worst, abs(c[i * columns + j] - Float(sum)))
            }
        }
        #expect(worst < 1e-4, "largest difference \(worst)")
    }
}
