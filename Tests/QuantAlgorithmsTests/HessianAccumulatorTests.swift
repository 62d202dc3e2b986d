import QuantCore
import TensorCore
import Testing
import TestSupport

@testable import QuantAlgorithms

@Suite struct HessianAccumulatorTests {
    /// float32 products summed by BLAS against a float64 reference, relative to the largest entry.
    static let tolerance: Float = 1e-5

    static func relativeDifference(_ a: Tensor, _ b: Tensor) -> Float {
        let scale = max(b.scalars.map(abs).max() ?? 1, .leastNormalMagnitude)
        return Tolerance.maxAbsDifference(a.scalars, b.scalars) / scale
    }

    @Test(arguments: [(1, 1), (5, 7), (64, 33), (100, 32)])
    func equalsTwoOverNTimesGram(rows: Int, columns: Int) throws {
        let x = GPTQTestData.correlatedInputs(rows: rows, columns: columns, seed: 3)
        let h = try GPTQTestData.hessian(x, columns: columns)
        #expect(h.sampleCount == rows)
        var expected = [Float](repeating: 0, count: columns * columns)
        for i in 0..<columns {
            for j in 0..<columns {
                var sum = 0.0
                for r in 0..<rows { sum += Double(x[r * columns + i]) * Double(x[r * columns + j]) }
                expected[i * columns + j] = Float(2 * sum / Double(rows))
            }
        }
        let difference = Self.relativeDifference(h.matrix(), Tensor(shape: [columns, columns], scalars: expected))
        #expect(difference < Self.tolerance, "largest relative difference \(difference)")
    }

    @Test(arguments: [0, 1, 17, 40])
    func twoChunksEqualOne(split: Int) throws {
        let (rows, columns) = (41, 19)
        let x = GPTQTestData.correlatedInputs(rows: rows, columns: columns, seed: 4)
        let whole = try GPTQTestData.hessian(x, columns: columns)
        var chunked = HessianAccumulator(columns: columns)
        try chunked.accumulate(Tensor(shape: [split, columns], scalars: Array(x[..<(split * columns)])))
        try chunked.accumulate(Tensor(shape: [rows - split, columns], scalars: Array(x[(split * columns)...])))
        #expect(chunked.sampleCount == rows)
        let difference = Self.relativeDifference(chunked.matrix(), whole.matrix())
        #expect(difference < Self.tolerance, "largest relative difference \(difference)")
    }

    @Test func emptyAccumulatorIsZero() {
        let h = HessianAccumulator(columns: 3)
        #expect(h.sampleCount == 0)
        #expect(h.matrix() == Tensor(shape: [3, 3]))
    }

    @Test func nonFiniteInputThrowsAndChangesNothing() throws {
        var h = HessianAccumulator(columns: 3)
        try h.accumulate(Tensor(shape: [1, 3], scalars: [1, 2, 3]))
        let before = h.matrix()
        #expect(throws: QuantError.nonFiniteInput("HessianAccumulator: input row 1 (of 2), column 2 is nan")) {
            try h.accumulate(Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, .nan]))
        }
        #expect(h.sampleCount == 1)
        #expect(h.matrix() == before)
    }

    @Test func wrongWidthIsAShapeMismatch() {
        var h = HessianAccumulator(columns: 4)
        #expect(throws: QuantError.shapeMismatch("HessianAccumulator over 4 columns got input [2, 3]")) {
            try h.accumulate(Tensor(shape: [2, 3]))
        }
    }

    @Test func givenMatrixIsChecked() throws {
        #expect(
            throws: QuantError.shapeMismatch("Hessian must be a non-empty square [columns, columns] matrix, got [2, 3]")
        ) {
            try HessianAccumulator(matrix: Tensor(shape: [2, 3]), sampleCount: 1)
        }
        #expect(throws: QuantError.noCalibrationData("Hessian given with sampleCount 0")) {
            try HessianAccumulator(matrix: Tensor(shape: [2, 2]), sampleCount: 0)
        }
        let h = try HessianAccumulator(matrix: Tensor(shape: [2, 2], scalars: [2, 1, 1, 3]), sampleCount: 5)
        #expect(h.matrix().scalars == [2, 1, 1, 3])
        #expect(h.sampleCount == 5)
    }
}
