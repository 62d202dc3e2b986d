import QuantCore
import TensorCore

/// GPTQ's calibration statistic for one linear layer: the running Hessian `H = 2/n · Σ xᵀx` of its inputs over the
/// `n` rows (tokens) seen so far, `[columns, columns]` with `columns` the layer's `inFeatures`.
///
/// Each batch of `rows` inputs updates `H ← H · n/(n + rows) + 2/(n + rows) · XᵀX` as in the reference `add_batch`
/// (IST-DASLab `gptq.py`). The reference counts sequences where this counts rows (tokens); that only scales `H` by a
/// constant, which GPTQ's solution ignores (dampening is relative to mean(diag H)).
///
/// `XᵀX` of each batch is one float32 `ssyrk` (half the flops of a GEMM, BLAS speed); the running sum is kept in
/// float64, so that many small batches, each rescaling the whole matrix, do not accumulate float32 rounding.
public struct HessianAccumulator: Sendable {
    /// Input features: `H` is `[columns, columns]`.
    public let columns: Int
    /// Rows (tokens) accumulated so far.
    public private(set) var sampleCount: Int = 0
    /// Row-major `[columns, columns]`; only the upper triangle is maintained (see `symmetricMatrix`).
    private var upper: [Double]

    /// An empty accumulator for a layer with `columns` input features.
    public init(columns: Int) {
        precondition(columns > 0, "HessianAccumulator needs at least one column, got \(columns)")
        self.columns = columns
        upper = [Double](repeating: 0, count: columns * columns)
    }

    /// The Hessian `2/n · XᵀX` of a layer input whose statistics (with their Gram matrix) were collected over `n`
    /// rows: the form the block-wise driver gives `WeightRounding` algorithms.
    /// - Throws: as `init(matrix:sampleCount:)`.
    public init(statistics: ActivationStatistics) throws(QuantError) {
        var gram = statistics.gram()
        let factor = 2 / Float(statistics.rowCount)
        for i in gram.scalars.indices { gram.scalars[i] *= factor }
        try self.init(matrix: gram, sampleCount: statistics.rowCount)
    }

    /// Wraps a Hessian computed elsewhere (a saved statistic, a merge).
    /// - Parameters: `matrix`: `[columns, columns]`, symmetric (the upper triangle is read); `sampleCount`: rows it
    ///   was averaged over, > 0.
    /// - Throws: `QuantError.shapeMismatch` for a matrix that is not square, `.nonFiniteInput` for a NaN or infinity,
    ///   `.noCalibrationData` for `sampleCount <= 0`.
    public init(matrix: Tensor, sampleCount: Int) throws(QuantError) {
        guard matrix.rank == 2, matrix.shape[0] == matrix.shape[1], matrix.shape[0] > 0 else {
            throw .shapeMismatch("Hessian must be a non-empty square [columns, columns] matrix, got \(matrix.shape)")
        }
        guard sampleCount > 0 else { throw .noCalibrationData("Hessian given with sampleCount \(sampleCount)") }
        let n = matrix.shape[0]
        if let bad = matrix.scalars.firstIndex(where: { !$0.isFinite }) {
            throw .nonFiniteInput("Hessian element [\(bad / n), \(bad % n)] is \(matrix.scalars[bad])")
        }
        columns = n
        self.sampleCount = sampleCount
        upper = matrix.scalars.map(Double.init)
    }

    /// Adds a batch of layer inputs `x: [rows, columns]` (row-major, contiguous).
    /// - Throws: `QuantError.nonFiniteInput` naming the row and column of the first NaN or infinity; the
    ///   accumulator is then unchanged.
    public mutating func accumulate(_ x: UnsafePointer<Float>, rows: Int) throws(QuantError) {
        precondition(rows >= 0, "negative row count \(rows)")
        guard rows > 0 else { return }
        let count = rows * columns
        // Vectorizable exponent scan; the slow search runs only when something is wrong.
        var exponent: UInt32 = 0
        for i in 0..<count { exponent = max(exponent, x[i].bitPattern & 0x7F80_0000) }
        if exponent == 0x7F80_0000, let bad = (0..<count).first(where: { !x[$0].isFinite }) {
            throw .nonFiniteInput(
                "HessianAccumulator: input row \(bad / columns) (of \(rows)), column \(bad % columns) is \(x[bad])")
        }
        var gram = [Float](repeating: 0, count: columns * columns)
        gram.withUnsafeMutableBufferPointer { g in
            BLAS.ssyrkUpperTransposed(columns: columns, rows: rows, a: x, lda: columns, c: g.baseAddress!, ldc: columns)
        }
        let total = Double(sampleCount + rows)
        let keep = Double(sampleCount) / total, add = 2 / total
        let n = columns
        upper.withUnsafeMutableBufferPointer { h in
            gram.withUnsafeBufferPointer { g in
                for i in 0..<n {
                    for j in i..<n { h[i * n + j] = h[i * n + j] * keep + add * Double(g[i * n + j]) }
                }
            }
        }
        sampleCount += rows
    }

    /// Adds a batch `x: [rows, columns]` (any rank; the last dimension must be `columns`).
    /// - Throws: `QuantError.shapeMismatch` when the last dimension differs; errors of `accumulate(_:rows:)`.
    public mutating func accumulate(_ x: Tensor) throws(QuantError) {
        guard let last = x.shape.last, last == columns else {
            throw .shapeMismatch("HessianAccumulator over \(columns) columns got input \(x.shape)")
        }
        try x.scalars.withUnsafeBufferPointer { buffer throws(QuantError) in
            guard let base = buffer.baseAddress else { return }
            try accumulate(base, rows: x.elementCount / columns)
        }
    }

    /// `H` as a float32 tensor `[columns, columns]` (all zeros before any input).
    public func matrix() -> Tensor {
        Tensor(shape: [columns, columns], scalars: symmetricMatrix().map(Float.init))
    }

    /// `H` in float64, row-major `[columns, columns]`, both triangles filled.
    func symmetricMatrix() -> [Double] {
        var h = upper
        let n = columns
        for i in 0..<n {
            for j in 0..<i { h[i * n + j] = h[j * n + i] }
        }
        return h
    }
}
