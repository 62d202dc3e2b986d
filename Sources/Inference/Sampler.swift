import TensorCore

/// Chooses the next token from a logits row: greedy (temperature 0) or sampled with temperature, top-k and top-p
/// (nucleus, Holtzman et al. 2020), from a seeded generator so a run can be repeated.
public struct Sampler: Sendable {
    /// Sampling settings; `temperature == 0` means greedy.
    public struct Configuration: Codable, Sendable, Equatable {
        public var temperature: Float = 0
        public var topK = 40
        public var topP: Float = 0.95
        public var seed: UInt64 = 0

        public init(temperature: Float = 0, topK: Int = 40, topP: Float = 0.95, seed: UInt64 = 0) throws(ModelError) {
            self.temperature = temperature
            self.topK = topK
            self.topP = topP
            self.seed = seed
            try validate()
        }

        public func validate() throws(ModelError) {
            guard temperature >= 0, temperature.isFinite else { throw .invalidConfiguration("temperature must be >= 0, got \(temperature)") }
            guard topK >= 1 else { throw .invalidConfiguration("top-k must be >= 1, got \(topK)") }
            guard topP > 0, topP <= 1 else { throw .invalidConfiguration("top-p must be in (0, 1], got \(topP)") }
        }
    }

    public let configuration: Configuration
    private var generator: SplitMix64

    public init(configuration: Configuration) {
        self.configuration = configuration
        generator = SplitMix64(seed: configuration.seed)
    }

    /// The next token id for `logits` (`vocabularySize` values).
    public mutating func next(_ logits: ArraySlice<Float>) -> Int {
        let base = logits.startIndex
        if configuration.temperature == 0 {
            var best = base
            for i in logits.indices where logits[i] > logits[best] { best = i }
            return best - base
        }
        let k = min(configuration.topK, logits.count)
        // Partial selection of the k largest, then sorted descending.
        var candidates = logits.indices.map { (index: $0 - base, logit: logits[$0]) }
        candidates.sort { $0.logit > $1.logit }
        candidates.removeLast(candidates.count - k)
        let maximum = candidates[0].logit
        var weights = candidates.map { Double(Activation.exp(($0.logit - maximum) / configuration.temperature)) }
        let total = weights.reduce(0, +)
        var cumulative = 0.0
        var kept = 0
        for i in weights.indices {
            weights[i] /= total
            cumulative += weights[i]
            kept = i + 1
            if cumulative >= Double(configuration.topP) { break }
        }
        let mass = weights[0..<kept].reduce(0, +)
        var draw = Double(generator.next() >> 11) / Double(1 << 53) * mass
        for i in 0..<kept {
            draw -= weights[i]
            if draw <= 0 { return candidates[i].index }
        }
        return candidates[kept - 1].index
    }
}
