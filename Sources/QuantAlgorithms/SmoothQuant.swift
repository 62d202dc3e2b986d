import Foundation
import Inference
import QuantCore
import TensorCore

/// SmoothQuant (Xiao et al. 2022): per-input-channel scales s_j = max|X_j|^α / max|W_j|^(1−α) (eq. 4) divide the
/// activations and multiply the weights, so activation outlier channels shrink before per-tensor quantization while
/// the float function stays the same. The scales are folded into the op that produces the input (a `ScaleGroup`:
/// RMSNorm weight, or v_proj / up_proj rows), never applied at run time.
///
/// α is fixed by the configuration, or searched per group over `alphaGrid` against the group's output error on a
/// calibration sample with both weights and inputs quantized (as AutoSmoothQuant does). The search also considers
/// leaving the group unscaled, so it never picks scales that measure worse than none.
public struct SmoothQuant: Sendable {
    public struct Configuration: Codable, Sendable, Equatable {
        /// Migration strength (paper default 0.5).
        public var alpha: Float = 0.5
        /// Search α per group instead of using `alpha`.
        public var searchesAlpha: Bool = false
        /// Candidates for the search.
        public var alphaGrid: [Float] = [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
        /// Smooth v_proj → o_proj and up_proj → down_proj too (the paper smooths only the norm-fed layers).
        public var smoothsLinearProducers: Bool = true

        enum CodingKeys: String, CodingKey, CaseIterable {
            case alpha
            case searchesAlpha = "search_alpha"
            case alphaGrid = "alpha_grid"
            case smoothsLinearProducers = "smooth_linear_producers"
        }

        public init(alpha: Float = 0.5, searchesAlpha: Bool = false, alphaGrid: [Float] = [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9],
                    smoothsLinearProducers: Bool = true) throws(QuantError) {
            self.alpha = alpha
            self.searchesAlpha = searchesAlpha
            self.alphaGrid = alphaGrid
            self.smoothsLinearProducers = smoothsLinearProducers
            try validate()
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            alpha = try c.decodeIfPresent(Float.self, forKey: .alpha) ?? 0.5
            searchesAlpha = try c.decodeIfPresent(Bool.self, forKey: .searchesAlpha) ?? false
            alphaGrid = try c.decodeIfPresent([Float].self, forKey: .alphaGrid) ?? [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
            smoothsLinearProducers = try c.decodeIfPresent(Bool.self, forKey: .smoothsLinearProducers) ?? true
            try validate()
        }

        public func validate() throws(QuantError) {
            for value in [alpha] + alphaGrid where !(value >= 0 && value <= 1) {
                throw .invalidConfiguration(field: "smoothquant.alpha", reason: "must lie in [0, 1], got \(value)")
            }
            guard !searchesAlpha || !alphaGrid.isEmpty else {
                throw .invalidConfiguration(field: "smoothquant.alpha_grid", reason: "empty grid with search_alpha")
            }
        }
    }

    /// What smoothing one group did.
    public struct GroupResult: Sendable, Equatable {
        /// The α used; nil when the search kept the group unscaled.
        public var alpha: Float?
        /// Output error on the search sample without and with the chosen scales (nil without a search).
        public var lossBefore: Double?
        public var lossAfter: Double?
        /// max |x| / mean over channels of max |x|, before and after: how far the worst channel stands out.
        public var outlierRatioBefore: Float
        public var outlierRatioAfter: Float
    }

    public let configuration: Configuration

    public init(_ configuration: Configuration) {
        self.configuration = configuration
    }

    /// Eq. 4 per producer channel: `activationAbsMax` and `weightAbsMax` are per producer channel; channels with no
    /// signal keep scale 1, and scales are clamped to [1e-5, 1e5] so no channel is zeroed or blown up.
    public static func scales(activationAbsMax: [Float], weightAbsMax: [Float], alpha: Float) -> [Float] {
        precondition(activationAbsMax.count == weightAbsMax.count)
        return zip(activationAbsMax, weightAbsMax).map { a, w in
            guard a > 0, w > 0 else { return 1 }
            let s = Float(pow(Double(a), Double(alpha)) / pow(Double(w), Double(1 - alpha)))
            return min(max(s, 1e-5), 1e5)
        }
    }

    /// Smooths `group` in `block` given the statistics of the group's input (consumer columns).
    /// - Parameters:
    ///   - sample: rows of the group's input `[rows, consumerWidth]` for the α search (ignored without a search).
    ///   - weightScheme, inputScheme: how the consumers' weights and inputs will be quantized (for the search).
    /// - Returns: the producer-channel scales applied (all 1 when none) and what was done.
    public func smooth<Block: TransformerBlock>(
        _ group: ScaleGroup<Block>, in block: inout Block, statistics: ActivationStatistics, sample: Tensor?,
        weightScheme: QuantScheme?, inputScheme: QuantScheme?
    ) throws(QuantError) -> (scales: [Float], result: GroupResult) {
        guard statistics.columns == group.consumerWidth else {
            throw .shapeMismatch("\(group.name): statistics over \(statistics.columns) columns, consumers read \(group.consumerWidth)")
        }
        let activation = Self.reduceToProducer(statistics.absMax, group: group)
        var weightMax = [Float](repeating: 0, count: group.channelCount)
        for path in group.consumers {
            let w = block[keyPath: path].weight
            let width = w.shape[1]
            w.scalars.withUnsafeBufferPointer { values in
                for r in 0..<w.shape[0] {
                    for j in 0..<width {
                        let c = group.producerChannel(ofConsumerColumn: j)
                        weightMax[c] = max(weightMax[c], abs(values[r * width + j]))
                    }
                }
            }
        }
        let before = Self.outlierRatio(statistics.absMax)
        var chosen: Float? = configuration.alpha
        var lossBefore: Double?, lossAfter: Double?
        if configuration.searchesAlpha, let sample {
            let reference = Self.outputs(of: group, block: block, input: sample)
            let unscaled = [Float](repeating: 1, count: group.channelCount)
            let baseline = try Self.quantizedLoss(group, block: block, sample: sample, scales: unscaled, reference: reference,
                                                  weightScheme: weightScheme, inputScheme: inputScheme)
            lossBefore = baseline
            var best = (alpha: Float?.none, loss: baseline)
            for alpha in configuration.alphaGrid {
                let s = Self.scales(activationAbsMax: activation, weightAbsMax: weightMax, alpha: alpha)
                let loss = try Self.quantizedLoss(group, block: block, sample: sample, scales: s, reference: reference,
                                                  weightScheme: weightScheme, inputScheme: inputScheme)
                if loss < best.loss { best = (alpha, loss) }
            }
            chosen = best.alpha
            lossAfter = best.loss
        }
        let s = chosen.map { Self.scales(activationAbsMax: activation, weightAbsMax: weightMax, alpha: $0) }
            ?? [Float](repeating: 1, count: group.channelCount)
        if chosen != nil { group.apply(s, to: &block) }
        let expanded = group.consumerScales(s)
        let after = Self.outlierRatio(zip(statistics.absMax, expanded).map { $0 / $1 })
        return (s, GroupResult(alpha: chosen, lossBefore: lossBefore, lossAfter: lossAfter,
                               outlierRatioBefore: before, outlierRatioAfter: after))
    }

    /// Per producer channel, the largest of the consumer columns it feeds.
    static func reduceToProducer<Block: TransformerBlock>(_ perColumn: [Float], group: ScaleGroup<Block>) -> [Float] {
        var result = [Float](repeating: 0, count: group.channelCount)
        for (j, value) in perColumn.enumerated() {
            let c = group.producerChannel(ofConsumerColumn: j)
            result[c] = max(result[c], value)
        }
        return result
    }

    /// max / mean of per-channel magnitudes (1 when flat).
    static func outlierRatio(_ absMax: [Float]) -> Float {
        let mean = absMax.reduce(0, +) / Float(max(absMax.count, 1))
        return mean > 0 ? (absMax.max() ?? 0) / mean : 1
    }

    /// Float outputs of every consumer on `input`: one `[rows, outFeatures]` tensor per consumer.
    static func outputs<Block: TransformerBlock>(of group: ScaleGroup<Block>, block: Block, input: Tensor) -> [Tensor] {
        group.consumers.map { path in
            let layer = block[keyPath: path]
            var out = Tensor(shape: [input.shape[0], layer.outFeatures])
            input.scalars.withUnsafeBufferPointer { x in
                out.scalars.withUnsafeMutableBufferPointer { y in layer.forward(x.baseAddress!, rows: input.shape[0], into: y.baseAddress!) }
            }
            return out
        }
    }

    /// Mean squared error of the consumers' outputs when the input is divided by `scales`, the weights multiplied by
    /// them, and both quantized by their schemes (a static input scheme takes its parameters from the sample itself).
    static func quantizedLoss<Block: TransformerBlock>(
        _ group: ScaleGroup<Block>, block: Block, sample: Tensor, scales: [Float], reference: [Tensor],
        weightScheme: QuantScheme?, inputScheme: QuantScheme?
    ) throws(QuantError) -> Double {
        var trial = block
        group.apply(scales, to: &trial)
        let expanded = group.consumerScales(scales)
        let rows = sample.shape[0], width = group.consumerWidth
        var input = sample
        for r in 0..<rows {
            for j in 0..<width { input.scalars[r * width + j] /= expanded[j] }
        }
        if let inputScheme {
            var parameters: QuantParameters?
            if !inputScheme.isDynamic && !inputScheme.dataType.isMicroscaling && !inputScheme.dataType.isFloatCast {
                var observer = try makeObserver(for: inputScheme)
                try observer.accumulate(input)
                let maximum = inputScheme.dataType.isInteger ? nil : try MiniFloatFormat(dataType: inputScheme.dataType).maxFinite
                parameters = try observer.parameters(scheme: inputScheme, formatMaximum: maximum)
            }
            try input.scalars.withUnsafeMutableBufferPointer { (x) throws(QuantError) in
                try TensorQuantizer.fakeQuantizeRows(x.baseAddress!, rows: rows, columns: width, scheme: inputScheme, parameters: parameters)
            }
        }
        if let weightScheme {
            for path in group.consumers {
                trial[keyPath: path].weight = try TensorQuantizer.fakeQuantize(trial[keyPath: path].weight, scheme: weightScheme)
            }
        }
        let outputs = outputs(of: group, block: trial, input: input)
        var total = 0.0, count = 0
        for (output, expected) in zip(outputs, reference) {
            for (a, b) in zip(output.scalars, expected.scalars) {
                let d = Double(a - b)
                total += d * d
            }
            count += output.elementCount
        }
        return total / Double(max(count, 1))
    }
}

extension SmoothQuant: ScaleMigrating {
    public var calibrationNeeds: CalibrationNeeds { CalibrationNeeds(sample: configuration.searchesAlpha) }

    /// Smooths a group whose first consumer quantizes its input or weight (norm-fed groups only unless
    /// `smoothsLinearProducers`).
    public func migrate<Block: TransformerBlock>(_ input: ScaleGroupInput<Block>, in block: inout Block) throws -> (scales: [Float], report: AlgorithmReport)? {
        if case .linear = input.group.producer, !configuration.smoothsLinearProducers { return nil }
        guard input.inputScheme != nil || input.weightScheme != nil else { return nil }
        let (s, result) = try smooth(
            input.group, in: &block, statistics: input.statistics, sample: input.sample, weightScheme: input.weightScheme,
            inputScheme: input.inputScheme)
        let choice = result.alpha.map {
            String(format: "alpha %.2f, outlier ratio %.1f → %.1f", $0, result.outlierRatioBefore, result.outlierRatioAfter)
        } ?? "unscaled"
        return (s, AlgorithmReport(
            algorithm: "smoothquant", block: input.block, target: input.group.name, choice: choice,
            lossBefore: result.lossBefore, lossAfter: result.lossAfter))
    }
}
