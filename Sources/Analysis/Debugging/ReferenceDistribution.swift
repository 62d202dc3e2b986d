import Foundation
import Inference
import TensorCore

/// The float model's next-token distributions on one batch, kept as probabilities so that KL(P_ref ‖ P_model) of
/// many candidate models costs one log-sum-exp and one dot product per row:
/// KL = Σ p log p − Σ p · (x − logZ) with x the candidate's logits and logZ = log Σ exp x.
public struct ReferenceDistribution: Sendable {
    /// `[rows, vocabulary]` probabilities.
    private let probabilities: [Float]
    /// Σ p log p per row, and Σ p (≈ 1, kept to stay exact).
    private let negativeEntropy: [Double]
    private let mass: [Double]
    private let argmax: [Int]
    public let rows: Int
    public let vocabularySize: Int

    /// From reference logits `[rows, vocabulary]`.
    public init(logits: Tensor) {
        precondition(logits.rank == 2)
        let rows = logits.shape[0], V = logits.shape[1]
        self.rows = rows
        vocabularySize = V
        var probabilities = [Float](repeating: 0, count: logits.elementCount)
        var negativeEntropy = [Double](repeating: 0, count: rows), mass = [Double](repeating: 0, count: rows)
        var argmax = [Int](repeating: 0, count: rows)
        logits.scalars.withUnsafeBufferPointer { x in
            probabilities.withUnsafeMutableBufferPointer { p in
                for r in 0..<rows {
                    let row = x.baseAddress! + r * V
                    let logZ = LogitStatistics.logSumExp(row, count: V)
                    var entropy = 0.0, total = 0.0
                    var i = 0
                    while i + 16 <= V {
                        let logP = UnsafeRawPointer(row + i).loadUnaligned(as: SIMD16<Float>.self) - logZ
                        let probability = Activation.exp(logP)
                        UnsafeMutableRawPointer(p.baseAddress! + r * V + i).storeBytes(
                            of: probability, as: SIMD16<Float>.self)
                        entropy += Double((probability * logP).sum())
                        total += Double(probability.sum())
                        i += 16
                    }
                    while i < V {
                        let logP = row[i] - logZ
                        let probability = Activation.exp(logP)
                        p[r * V + i] = probability
                        entropy += Double(probability) * Double(logP)
                        total += Double(probability)
                        i += 1
                    }
                    negativeEntropy[r] = entropy
                    mass[r] = total
                    argmax[r] = LogitStatistics.argmax(row, count: V)
                }
            }
        }
        self.probabilities = probabilities
        self.negativeEntropy = negativeEntropy
        self.mass = mass
        self.argmax = argmax
    }

    /// Mean over rows of KL(P_ref ‖ P_model) in nats, and the share of rows whose argmax agrees.
    public func compare(_ logits: Tensor) -> (klDivergence: Double, top1Agreement: Double) {
        precondition(logits.shape == [rows, vocabularySize])
        let V = vocabularySize, rows = rows
        let (negativeEntropy, mass, argmax) = (negativeEntropy, mass, argmax)
        var kl = [Double](repeating: 0, count: rows)
        var agrees = [Bool](repeating: false, count: rows)
        logits.scalars.withUnsafeBufferPointer { x in
            probabilities.withUnsafeBufferPointer { p in
                kl.withUnsafeMutableBufferPointer { k in
                    agrees.withUnsafeMutableBufferPointer { a in
                        nonisolated(unsafe) let (xp, pp, kp, ap) = (
                            x.baseAddress!, p.baseAddress!, k.baseAddress!, a.baseAddress!
                        )
                        Parallel.forEachChunk(count: rows, minimumPerChunk: 8) { chunk in
                            for r in chunk {
                                let row = xp + r * V, probability = pp + r * V
                                let logZ = Double(LogitStatistics.logSumExp(row, count: V))
                                let crossTerm = Self.dot(probability, row, count: V)
                                kp[r] = max(0, negativeEntropy[r] - crossTerm + logZ * mass[r])
                                ap[r] = LogitStatistics.argmax(row, count: V) == argmax[r]
                            }
                        }
                    }
                }
            }
        }
        let n = Double(max(rows, 1))
        return (kl.reduce(0, +) / n, Double(agrees.filter { $0 }.count) / n)
    }

    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Double {
        var sum = SIMD16<Float>(repeating: 0)
        var i = 0
        var total = 0.0
        while i + 16 <= count {
            sum +=
                UnsafeRawPointer(a + i).loadUnaligned(as: SIMD16<Float>.self)
                * UnsafeRawPointer(b + i).loadUnaligned(as: SIMD16<Float>.self)
            i += 16
            // Flush to double now and then: a single float accumulator over 49k terms loses digits.
            if i % 1024 == 0 {
                total += Double(sum.sum())
                sum = .init(repeating: 0)
            }
        }
        total += Double(sum.sum())
        while i < count { total += Double(a[i]) * Double(b[i]); i += 1 }
        return total
    }
}
