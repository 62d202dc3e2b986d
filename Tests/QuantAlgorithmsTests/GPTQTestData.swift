import QuantAlgorithms
import QuantCore
import TensorCore
import TestSupport

/// Seeded inputs, schemes and error measures for the GPTQ and Hessian tests.
enum GPTQTestData {
    /// Correlated layer inputs `X = Z · A` `[rows, columns]`: uniform `Z` mixed by a random `A` with a strong
    /// diagonal, so features share components (where GPTQ's error feedback pays off) and have unequal scales.
    static func correlatedInputs(rows: Int, columns: Int, seed: UInt64) -> [Float] {
        let z = Fixtures.uniform(count: rows * columns, seed: seed)
        var a = Fixtures.uniform(count: columns * columns, seed: seed &+ 1)
        for i in 0..<columns { a[i * columns + i] += 2 }
        var x = [Float](repeating: 0, count: rows * columns)
        for r in 0..<rows {
            for k in 0..<columns {
                let zk = z[r * columns + k]
                for c in 0..<columns { x[r * columns + c] += zk * a[k * columns + c] }
            }
        }
        return x
    }

    static func weight(outFeatures: Int, inFeatures: Int, seed: UInt64) -> Tensor {
        Tensor(
            shape: [outFeatures, inFeatures], scalars: Fixtures.uniform(count: outFeatures * inFeatures, seed: seed))
    }

    static func hessian(_ x: [Float], columns: Int) throws -> HessianAccumulator {
        var h = HessianAccumulator(columns: columns)
        try x.withUnsafeBufferPointer { try h.accumulate($0.baseAddress!, rows: x.count / columns) }
        return h
    }

    /// ‖W·Xᵀ − Q·Xᵀ‖² (the layer's output error on the inputs), in double.
    static func outputError(_ w: Tensor, _ q: Tensor, inputs x: [Float]) -> Double {
        let (m, n) = (w.shape[0], w.shape[1])
        let rows = x.count / n
        var total = 0.0
        for r in 0..<rows {
            for o in 0..<m {
                var sum = 0.0
                for c in 0..<n { sum += Double(w.scalars[o * n + c] - q.scalars[o * n + c]) * Double(x[r * n + c]) }
                total += sum * sum
            }
        }
        return total
    }

    static func scheme(
        _ type: QuantDataType, groupSize: Int? = nil, symmetric: Bool = true, narrow: Bool = false,
        scaleType: QuantScheme.ScaleType = .float32
    ) throws -> QuantScheme {
        try QuantScheme(
            dataType: type, granularity: groupSize == nil ? .perChannel : .perGroup, groupSize: groupSize,
            isSymmetric: symmetric, isNarrowRange: narrow, scaleType: scaleType)
    }
}
