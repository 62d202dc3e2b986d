import Foundation
import Inference
import TensorCore

/// A model whose logits are computed once per token sequence and then served from memory: the float reference that
/// every candidate of a search is compared with. Holds `[tokens, vocabulary]` floats per sequence it has seen, up to
/// `capacity` sequences (the oldest are then computed again, never dropped silently from a result).
public final class MemoizedLogits: CausalLanguageModel, @unchecked Sendable {
    private let model: any CausalLanguageModel
    private let capacity: Int
    private let lock = NSLock()
    private var stored: [[Int]: Tensor] = [:]
    private var order: [[Int]] = []
    public private(set) var hits = 0

    public init(_ model: any CausalLanguageModel, capacity: Int = 48) {
        (self.model, self.capacity) = (model, max(0, capacity))
    }

    public var vocabularySize: Int { model.vocabularySize }

    public func logits(for tokens: [Int]) throws(ModelError) -> Tensor {
        lock.lock()
        if let logits = stored[tokens] {
            hits += 1
            lock.unlock()
            return logits
        }
        lock.unlock()
        let logits = try model.logits(for: tokens)
        lock.lock()
        defer { lock.unlock() }
        if capacity > 0, stored[tokens] == nil {
            if order.count == capacity { stored[order.removeFirst()] = nil }
            stored[tokens] = logits
            order.append(tokens)
        }
        return logits
    }
}
