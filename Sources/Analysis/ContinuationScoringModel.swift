import Inference
import TensorCore

/// A language model that scores several continuations of one shared prefix: what task accuracy needs from a model.
/// `LlamaModel` runs the prefix once and branches its KV cache per continuation; `FullForwardScoring` wraps any
/// `CausalLanguageModel` with one plain forward per continuation (the reference the branching path is tested against).
public protocol ContinuationScoringModel: CausalLanguageModel {
    /// The longest token sequence one forward pass takes (the model's context window).
    var contextLength: Int { get }

    /// log P(c[j] | prefix + c[..<j]) in nats, for each continuation c and each of its tokens.
    /// - Precondition: `prefix` is not empty, no continuation is empty, and prefix + continuation minus its last
    ///   token fits in `contextLength`.
    /// - Throws: `ModelError` from the forward passes (a token outside the vocabulary, an activation that cannot be
    ///   quantized).
    func continuationLogProbabilities(prefix: [Int], continuations: [[Int]]) throws(ModelError) -> [[Double]]
}

extension LlamaModel: ContinuationScoringModel {
    public var contextLength: Int { configuration.maxPositionEmbeddings }

    /// Prefills `prefix` once; each continuation then runs on a copy of that KV cache (a copy of a few MB, against a
    /// prefill of the whole prefix per continuation). The first token of every continuation is scored from the
    /// prefix's last logits row, so a one-token continuation needs no forward of its own.
    public func continuationLogProbabilities(prefix: [Int], continuations: [[Int]]) throws(ModelError) -> [[Double]] {
        precondition(!prefix.isEmpty && continuations.allSatisfy { !$0.isEmpty })
        let longest = continuations.map(\.count).max() ?? 1
        var cache = makeCache(capacity: prefix.count + longest)
        let last = try forward(tokens: prefix, cache: &cache, logits: .last)
        var result: [[Double]] = []
        result.reserveCapacity(continuations.count)
        for continuation in continuations {
            var scores = [ContinuationScoring.logProbability(of: continuation[0], row: 0, in: last)]
            if continuation.count > 1 {
                var branch = cache
                let logits = try forward(tokens: Array(continuation.dropLast()), cache: &branch, logits: .all)
                for j in 1..<continuation.count {
                    scores.append(ContinuationScoring.logProbability(of: continuation[j], row: j - 1, in: logits))
                }
            }
            result.append(scores)
        }
        return result
    }
}

/// Any `CausalLanguageModel` as a `ContinuationScoringModel`: one forward of prefix + continuation per continuation.
public struct FullForwardScoring<Model: CausalLanguageModel>: ContinuationScoringModel {
    public let model: Model
    public let contextLength: Int

    /// - Parameter contextLength: the longest sequence `model` takes.
    public init(_ model: Model, contextLength: Int) {
        self.model = model
        self.contextLength = contextLength
    }

    public var vocabularySize: Int { model.vocabularySize }

    public func logits(for tokens: [Int]) throws(ModelError) -> Tensor { try model.logits(for: tokens) }

    public func continuationLogProbabilities(prefix: [Int], continuations: [[Int]]) throws(ModelError) -> [[Double]] {
        precondition(!prefix.isEmpty && continuations.allSatisfy { !$0.isEmpty })
        var result: [[Double]] = []
        for continuation in continuations {
            let sequence = prefix + continuation.dropLast()
            let logits = try model.logits(for: sequence)
            result.append(
                continuation.indices.map {
                    ContinuationScoring.logProbability(of: continuation[$0], row: prefix.count - 1 + $0, in: logits)
                })
        }
        return result
    }
}

/// Log-softmax of single logits rows.
enum ContinuationScoring {
    /// log softmax(logits[row])[token], in nats.
    static func logProbability(of token: Int, row: Int, in logits: Tensor) -> Double {
        let V = logits.shape[1]
        precondition(row < logits.shape[0] && (0..<V).contains(token))
        return logits.scalars.withUnsafeBufferPointer { buffer in
            let start = buffer.baseAddress! + row * V
            return Double(start[token]) - Double(LogitStatistics.logSumExp(start, count: V))
        }
    }
}
