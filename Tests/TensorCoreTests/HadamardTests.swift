import Testing
import TensorCore
import TestSupport

/// Float32 rounding of a length-n transform: sums of n terms of magnitude |x|/√n.
let hadamardTolerance: Float = 1e-5

@Suite struct HadamardTests {
    static let sizes = [1, 2, 4, 12, 20, 24, 28, 36, 40, 48, 64, 96, 192, 576, 1152, 1536]

    @Test(arguments: sizes)
    func matrixIsOrthogonal(dimension: Int) throws {
        let transform = try HadamardTransform(dimension: dimension, seed: 7)
        let q = transform.matrix()
        let product = q.matmulTransposed(q)
        var worst: Float = 0
        for i in 0..<dimension {
            for j in 0..<dimension {
                worst = max(worst, abs(product.scalars[i * dimension + j] - (i == j ? 1 : 0)))
            }
        }
        #expect(worst < hadamardTolerance, "max |QQᵀ − I| = \(worst) for n = \(dimension) (base \(transform.baseSize))")
        let magnitude = 1 / Float(dimension).squareRoot()
        #expect(q.scalars.allSatisfy { abs(abs($0) - magnitude) < 1e-7 })
    }

    @Test(arguments: sizes)
    func fastApplyMatchesDenseAndReference(dimension: Int) throws {
        let transform = try HadamardTransform(dimension: dimension, seed: 3)
        let rows = dimension > 600 ? 3 : 9
        let input = Tensor(
            shape: [rows, dimension], scalars: Fixtures.uniform(count: rows * dimension, seed: 11, scale: 2))
        var fast = input
        transform.apply(to: &fast)
        var reference = input
        transform.applyReference(to: &reference)
        let dense = input.matmul(transform.matrix())
        let fastError = Tolerance.maxAbsDifference(fast.scalars, reference.scalars)
        let denseError = Tolerance.maxAbsDifference(dense.scalars, reference.scalars)
        #expect(fastError < hadamardTolerance, "fast vs reference: \(fastError)")
        #expect(denseError < hadamardTolerance, "dense vs reference: \(denseError)")
    }

    @Test func expectedFactorizations() throws {
        #expect(HadamardTransform.baseSize(for: 576) == 36)  // Paley II, q = 17
        #expect(HadamardTransform.baseSize(for: 1536) == 12)  // Paley I, q = 11
        #expect(HadamardTransform.baseSize(for: 48) == 12)
        #expect(HadamardTransform.baseSize(for: 64) == 1)
        #expect(HadamardTransform.baseSize(for: 28) == 28)  // Paley II, q = 13
        #expect(HadamardTransform.baseSize(for: 72) == 36)
    }

    @Test(arguments: [3, 6, 10, 18, 0, -4, 92])
    func unsupportedDimensionIsAnError(dimension: Int) {
        #expect(throws: HadamardError.unsupportedDimension(dimension)) {
            try HadamardTransform(dimension: dimension, seed: 0)
        }
        #expect(!HadamardTransform.isSupported(dimension: dimension))
    }

    @Test func storedPartsAreValidated() throws {
        #expect(throws: HadamardError.unsupportedBaseSize(dimension: 48, baseSize: 6)) {
            try HadamardTransform(dimension: 48, baseSize: 6, signs: [Float](repeating: 1, count: 48))
        }
        #expect(throws: HadamardError.invalidSigns(dimension: 48, reason: "47 signs")) {
            try HadamardTransform(dimension: 48, baseSize: 12, signs: [Float](repeating: 1, count: 47))
        }
        let seeded = try HadamardTransform(dimension: 48, seed: 5)
        let rebuilt = try HadamardTransform(dimension: 48, baseSize: seeded.baseSize, signs: seeded.signs, seed: 5)
        #expect(rebuilt == seeded)
        #expect(seeded.signs.contains(-1) && seeded.signs.contains(1))
        #expect(try HadamardTransform(dimension: 48, seed: 6) != seeded)
    }

    @Test func transformPreservesNormAndSpreadsAnOutlier() throws {
        let transform = try HadamardTransform(dimension: 576, seed: 1)
        var x = Tensor(shape: [1, 576], repeating: 0.01)
        x.scalars[17] = 100
        let norm = x.scalars.reduce(0) { $0 + $1 * $1 }.squareRoot()
        transform.apply(to: &x)
        let after = x.scalars.reduce(0) { $0 + $1 * $1 }.squareRoot()
        #expect(abs(after - norm) / norm < 1e-5)
        #expect(x.scalars.map(abs).max()! < 100 / Float(576).squareRoot() + 1)
    }
}
