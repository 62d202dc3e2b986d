import QuantCore
import TensorCore

/// Per-channel statistics of a linear layer's input over calibration data: max |x|, mean |x| and, when asked, the
/// Gram matrix XᵀX (what GPTQ's Hessian and AWQ's output-error proxy are made of).
///
/// Scales moved by SmoothQuant or AWQ change the input to X·diag(1/s); `divideColumns(by:)` applies that to the
/// statistics exactly, so nothing has to be collected twice.
public struct ActivationStatistics: Sendable {
    /// Input width.
    public let columns: Int
    /// Rows (tokens) seen.
    public private(set) var rowCount = 0
    /// max |x| per column.
    public private(set) var absMax: [Float]
    private var absSum: [Double]
    /// Upper triangle of XᵀX `[columns, columns]` accumulated in float32 by BLAS; nil when not collected.
    private var gramUpper: [Float]?

    public init(columns: Int, collectsGram: Bool) {
        precondition(columns > 0)
        self.columns = columns
        absMax = [Float](repeating: 0, count: columns)
        absSum = [Double](repeating: 0, count: columns)
        gramUpper = collectsGram ? [Float](repeating: 0, count: columns * columns) : nil
    }

    /// Whether the Gram matrix is collected.
    public var collectsGram: Bool { gramUpper != nil }

    /// mean |x| per column.
    public var absMean: [Float] { absSum.map { rowCount == 0 ? 0 : Float($0 / Double(rowCount)) } }

    /// Adds `rows` rows of `x: [rows, columns]`.
    /// - Throws: `QuantError.nonFiniteInput` when a value is NaN or infinite.
    public mutating func accumulate(_ x: UnsafePointer<Float>, rows: Int) throws(QuantError) {
        guard rows > 0 else { return }
        let C = columns
        for r in 0..<rows {
            let row = x + r * C
            for j in 0..<C {
                let value = row[j]
                guard value.isFinite else {
                    throw .nonFiniteInput("activation row \(rowCount + r), column \(j) is \(value)")
                }
                let magnitude = abs(value)
                absSum[j] += Double(magnitude)
                if magnitude > absMax[j] { absMax[j] = magnitude }
            }
        }
        rowCount += rows
        guard gramUpper != nil else { return }
        gramUpper!.withUnsafeMutableBufferPointer { g in
            nonisolated(unsafe) let gp = g.baseAddress!
            nonisolated(unsafe) let xp = x
            // Column blocks j0..<j1 of the upper triangle: G[0..<j1, j0..<j1] += X[:, 0..<j1]ᵀ · X[:, j0..<j1].
            let width = 128
            let blocks = (C + width - 1) / width
            Parallel.forEach(count: blocks) { b in
                let j0 = b * width, j1 = min(C, j0 + width)
                BLAS.sgemm(transposeA: true, transposeB: false, m: j1, n: j1 - j0, k: rows,
                           a: xp, lda: C, b: xp + j0, ldb: C, beta: 1, c: gp + j0, ldc: C)
            }
        }
    }

    /// XᵀX as a full symmetric `[columns, columns]` tensor.
    /// - Precondition: the Gram matrix is collected.
    public func gram() -> Tensor {
        precondition(gramUpper != nil, "Gram matrix not collected")
        let C = columns
        var full = gramUpper!
        for i in 0..<C {
            for j in 0..<i { full[i * C + j] = full[j * C + i] }
        }
        return Tensor(shape: [C, C], scalars: full)
    }

    /// The statistics of X·diag(1/s): what the same data gives after a scale group divided the channels by `s`.
    public mutating func divideColumns(by s: [Float]) {
        precondition(s.count == columns)
        for j in 0..<columns {
            absMax[j] /= s[j]
            absSum[j] /= Double(s[j])
        }
        guard gramUpper != nil else { return }
        let C = columns
        for i in 0..<C {
            for j in i..<C { gramUpper![i * C + j] /= s[i] * s[j] }
        }
    }
}
