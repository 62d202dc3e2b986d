/// Autoregressive generation: one prefill of the prompt, then one decode step per new token through the KV cache.
public struct Generation: Sendable {
    /// Settings for one run.
    public struct Configuration: Sendable, Equatable {
        public var maximumNewTokens: Int
        public var sampler: Sampler.Configuration
        /// Token ids that end generation (not emitted).
        public var stopTokenIDs: Set<Int>

        public init(maximumNewTokens: Int = 128, sampler: Sampler.Configuration, stopTokenIDs: Set<Int>) throws(ModelError) {
            guard maximumNewTokens >= 1 else { throw .invalidConfiguration("max tokens must be >= 1, got \(maximumNewTokens)") }
            self.maximumNewTokens = maximumNewTokens
            self.sampler = sampler
            self.stopTokenIDs = stopTokenIDs
        }
    }

    /// Timing of a run, for tokens/s figures.
    public struct Statistics: Sendable {
        public var promptTokens = 0
        public var generatedTokens = 0
        public var prefillSeconds = 0.0
        public var decodeSeconds = 0.0
    }

    public let configuration: Configuration

    public init(configuration: Configuration) { self.configuration = configuration }

    /// Generates after `prompt`, calling `emit` with each new token id as soon as it is chosen.
    /// - Returns: the generated ids and timings.
    @discardableResult
    public func run(
        _ model: LlamaModel, prompt: [Int], hooks: (any ForwardHooks)? = nil, emit: (Int) -> Void = { _ in }
    ) throws(ModelError) -> (tokens: [Int], statistics: Statistics) {
        var cache = model.makeCache(capacity: prompt.count + configuration.maximumNewTokens)
        var sampler = Sampler(configuration: configuration.sampler)
        var statistics = Statistics(promptTokens: prompt.count)
        let clock = ContinuousClock()
        var start = clock.now
        var logits = try model.forward(tokens: prompt, cache: &cache, logits: .last, hooks: hooks)
        statistics.prefillSeconds = (clock.now - start).seconds
        var output: [Int] = []
        start = clock.now
        while output.count < configuration.maximumNewTokens {
            let next = sampler.next(logits.scalars[...])
            if configuration.stopTokenIDs.contains(next) { break }
            output.append(next)
            emit(next)
            guard output.count < configuration.maximumNewTokens,
                  cache.count < model.configuration.maxPositionEmbeddings else { break }
            logits = try model.forward(tokens: [next], cache: &cache, logits: .last, hooks: hooks)
        }
        statistics.decodeSeconds = (clock.now - start).seconds
        statistics.generatedTokens = output.count
        return (output, statistics)
    }
}

extension Duration {
    /// The duration in seconds as a double.
    public var seconds: Double {
        let (s, attoseconds) = components
        return Double(s) + Double(attoseconds) * 1e-18
    }
}
