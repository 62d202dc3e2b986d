import Foundation
import Inference
import TensorCore

/// Per-token statistics of logits rows: negative log-likelihood of the next token, KL divergence against reference
/// logits, and argmax agreement. Sums are kept in double precision.
enum LogitStatistics {
    /// Scores rows 0..<T−1 of `logits: [T, V]`, row t predicting `targets[t + 1]`.
    static func score(logits: Tensor, targets: [Int], reference: Tensor?) -> WindowScore {
        let T = targets.count, V = logits.shape[1]
        precondition(logits.shape[0] == T && (reference == nil || reference!.shape == logits.shape))
        let predicted = T - 1
        let threads = max(1, min(Parallel.threadCount, predicted))
        var partial = [WindowScore](repeating: WindowScore(), count: threads)
        logits.scalars.withUnsafeBufferPointer { model in
            (reference?.scalars ?? []).withUnsafeBufferPointer { ref in
                partial.withUnsafeMutableBufferPointer { sums in
                    // An empty array's buffer may still have a base address: decide on `reference`, not on the pointer.
                    nonisolated(unsafe) let (m, r, s) = (model.baseAddress!, reference == nil ? nil : ref.baseAddress, sums.baseAddress!)
                    DispatchQueue.concurrentPerform(iterations: threads) { worker in
                        var score = WindowScore()
                        let rows = (predicted * worker / threads)..<(predicted * (worker + 1) / threads)
                        for t in rows {
                            let row = m + t * V
                            let logZ = logSumExp(row, count: V)
                            score.negativeLogLikelihood += Double(logZ - row[targets[t + 1]])
                            score.count += 1
                            if let r {
                                let refRow = r + t * V
                                let refLogZ = logSumExp(refRow, count: V)
                                score.klDivergence += klDivergence(reference: refRow, referenceLogZ: refLogZ, model: row, modelLogZ: logZ, count: V)
                                if argmax(row, count: V) == argmax(refRow, count: V) { score.agreements += 1 }
                            }
                        }
                        s[worker] = score
                    }
                }
            }
        }
        var total = WindowScore()
        for p in partial { total.add(p) }
        return total
    }

    /// log Σ exp(x_i), stable.
    static func logSumExp(_ x: UnsafePointer<Float>, count: Int) -> Float {
        let maximum = Activation.maximum(x, count: count)
        var sum = SIMD16<Float>(repeating: 0)
        var i = 0
        while i + 16 <= count {
            sum += Activation.exp(UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self) - maximum)
            i += 16
        }
        var total = Double(sum.sum())
        while i < count { total += Double(Activation.exp(x[i] - maximum)); i += 1 }
        return maximum + Float(Foundation.log(total))
    }

    /// Σ p_ref (log p_ref − log p_model) with log p = x − logZ.
    static func klDivergence(
        reference: UnsafePointer<Float>, referenceLogZ: Float, model: UnsafePointer<Float>, modelLogZ: Float, count: Int
    ) -> Double {
        var total = 0.0
        for i in 0..<count {
            let logP = reference[i] - referenceLogZ
            let logQ = model[i] - modelLogZ
            total += Double(Activation.exp(logP)) * Double(logP - logQ)
        }
        return max(0, total)
    }

    /// Index of the largest value (first on ties).
    static func argmax(_ x: UnsafePointer<Float>, count: Int) -> Int {
        var best = 0
        for i in 1..<count where x[i] > x[best] { best = i }
        return best
    }
}
