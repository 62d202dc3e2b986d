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

extension Generation {
    /// Generates after each of `prompts`, sequence i sampled as `samplers[i]` says, stopping each at a stop token or
    /// `maximumNewTokens`. Each prompt is prefilled on its own; the sequences then decode together, one matrix product
    /// per layer for all of them (`LlamaModel.decode(_:caches:)`): what `run` computes for each prompt, up to float
    /// summation order, several times faster. A model that cannot decode in batches (activation or KV quantizers)
    /// runs `run` once per prompt. `progress(done, total)` counts decode steps.
    /// - Returns: the new tokens of each sequence.
    public func run(
        _ model: LlamaModel, prompts: [[Int]], samplers: [Sampler.Configuration], progress: (Int, Int) -> Void = { _, _ in }
    ) throws(ModelError) -> [[Int]] {
        precondition(prompts.count == samplers.count)
        let total = configuration.maximumNewTokens
        guard model.decodesInBatches else {
            var outputs: [[Int]] = []
            for (prompt, sampler) in zip(prompts, samplers) {
                var settings = configuration
                settings.sampler = sampler
                outputs.append(try Generation(configuration: settings).run(model, prompt: prompt).tokens)
                progress(outputs.count, prompts.count)
            }
            return outputs
        }
        var outputs = Array(repeating: [Int](), count: prompts.count)
        var live: [(sequence: Int, cache: KVCache, sampler: Sampler, logits: ArraySlice<Float>)] = []
        for (index, prompt) in prompts.enumerated() {
            var cache = model.makeCache(capacity: prompt.count + total)
            let logits = try model.forward(tokens: prompt, cache: &cache, logits: .last)
            live.append((index, cache, Sampler(configuration: samplers[index]), logits.scalars[...]))
        }
        for step in 0..<total {
            // Sample each live sequence; those that stop or are full leave the batch.
            var next: [Int] = []
            live = live.compactMap { entry in
                var entry = entry
                let token = entry.sampler.next(entry.logits)
                guard !configuration.stopTokenIDs.contains(token) else { return nil }
                outputs[entry.sequence].append(token)
                guard step + 1 < total, entry.cache.count < model.configuration.maxPositionEmbeddings else { return nil }
                next.append(token)
                return entry
            }
            progress(step + 1, total)
            // Caches of one length decode together (prompts of different lengths form separate groups).
            for length in Set(live.map(\.cache.count)).sorted() {
                let members = live.indices.filter { live[$0].cache.count == length }
                var caches = members.map { live[$0].cache }
                for index in members { live[index].cache = model.makeCache(capacity: 1) }  // keep each cache unique
                let logits = try model.decode(members.map { next[$0] }, caches: &caches)
                let width = model.configuration.vocabularySize
                for (row, index) in members.enumerated() {
                    live[index].cache = caches[row]
                    live[index].logits = logits.scalars[(row * width)..<((row + 1) * width)]
                }
            }
            if live.isEmpty { break }
        }
        return outputs
    }
}

extension Duration {
    /// The duration in seconds as a double.
    public var seconds: Double {
        let (s, attoseconds) = components
        return Double(s) + Double(attoseconds) * 1e-18
    }
}
