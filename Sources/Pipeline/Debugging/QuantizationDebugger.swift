import Analysis
import Foundation
import Inference
import QuantCore
import Quantization
import TensorCore

/// The quantization debugger: compares a quantized model with its float original on one batch, layer by layer
/// (AMD Quark's four relative errors, SQNR, weight statistics, histograms, per-channel and per-token profiles), and
/// measures each layer's sensitivity by quantizing it alone.
public enum QuantizationDebugger {
    /// What to compute.
    public struct Configuration: Sendable {
        /// Histograms of x, QDQ(x) and x_ref at every layer input.
        public var activationHistograms = true
        /// Quantize each layer alone and measure KL of the final logits (one forward pass per layer).
        public var measureSensitivity = true
        public var histogramBins = 64
        public init(activationHistograms: Bool = true, measureSensitivity: Bool = true) {
            self.activationHistograms = activationHistograms
            self.measureSensitivity = measureSensitivity
        }
    }

    /// Progress callbacks, each with (done, total).
    public struct Progress {
        public var layers: (Int, Int) -> Void = { _, _ in }
        public var sensitivity: (Int, Int) -> Void = { _, _ in }
        public init() {}
    }

    /// Everything the report folder holds.
    public struct Result: Sendable {
        public var report: DebugReport
        /// By layer name.
        public var weights: [String: WeightStatistics]
        public var weightHistograms: [String: Histogram]
        public var activations: [String: InputErrorStatistics]
        /// HTML fragments the page shows after its findings (the tuning search's chart).
        public var sections: [String] = []

        public init(
            report: DebugReport, weights: [String: WeightStatistics], weightHistograms: [String: Histogram],
            activations: [String: InputErrorStatistics]
        ) {
            self.report = report
            self.weights = weights
            self.weightHistograms = weightHistograms
            self.activations = activations
        }
    }

    /// Analyses `quantized` against its float reference on `tokens`: `quantized.reference` when the quantization kept
    /// it (the float model after the same rotation and scale migrations, so both compute in one basis), else
    /// `reference`'s model (the float model it came from, right when the recipe transforms nothing).
    /// - Throws: `PipelineError.invalidArgument` for an empty batch; model errors (tokens outside the vocabulary, NaN
    ///   activations) as they come.
    public static func analyze(
        reference: LoadedModel, quantized: QuantizedModel, tokens: [Int], inputSource: String,
        configuration: Configuration = Configuration(), progress: Progress = Progress()
    ) throws -> Result {
        guard tokens.count >= 2 else {
            throw PipelineError.invalidArgument("the analysis input has \(tokens.count) tokens; it needs at least 2")
        }
        let start = Date()
        let layers = quantized.plan.layers.filter { $0.weight != nil || $0.input != nil }
        let points = Set(layers.map { QuantizationPoint(layer: $0.name, kind: .input) })

        // Float pass: capture the reference inputs and the reference distributions.
        let floatModel = quantized.reference ?? reference.model
        let capture = ReferenceCaptureHooks(points: points)
        var cache = floatModel.makeCache(capacity: tokens.count)
        let referenceLogits = try floatModel.forward(tokens: tokens, cache: &cache, logits: .all, hooks: capture)
        let distribution = ReferenceDistribution(logits: referenceLogits)

        // Quantized pass: measure each input as the pass reaches it.
        let hooks = DebugHooks(
            references: capture,
            histogramBins: configuration.activationHistograms ? configuration.histogramBins : nil,
            progress: { progress.layers($0, layers.count) })
        cache = quantized.loaded.model.makeCache(capacity: tokens.count)
        let logits = try quantized.loaded.model.forward(tokens: tokens, cache: &cache, logits: .all, hooks: hooks)
        let output = distribution.compare(logits)

        let floatWeights = Dictionary(uniqueKeysWithValues: floatModel.linearLayers.map { ($0.name, $0.weight) })
        let quantizedWeights = Dictionary(
            uniqueKeysWithValues: quantized.loaded.model.linearLayers.map { ($0.name, $0.weight) })
        let weights = weightStatistics(layers.map(\.name), float: floatWeights, quantized: quantizedWeights)
        var histograms: [String: Histogram] = [:]
        for layer in layers {
            histograms[layer.name] = Histogram(floatWeights[layer.name]!.scalars, binCount: configuration.histogramBins)
        }

        let indices = Dictionary(
            uniqueKeysWithValues: quantized.loaded.model.linearLayers.enumerated().map { ($1.name, $0) })
        let entries = layers.map { plan -> DebugReport.Layer in
            let a = hooks.statistics[plan.name]!, w = weights[plan.name]!
            let weightRange = w.standardDeviation > 0 ? (w.maximum - w.minimum) / w.standardDeviation : 0
            return DebugReport.Layer(
                name: plan.name, index: indices[plan.name]!, inputQuantized: plan.input != nil, ioError: a.ioError,
                referenceInputError: a.referenceInputError, referenceOutputError: a.referenceOutputError,
                weightError: w.relativeError, sqnrDecibels: a.sqnrDecibels, weightSQNRDecibels: w.sqnrDecibels,
                rangeParameter: a.rangeParameter,
                referenceAbsMax: max(abs(a.referenceMinimum), abs(a.referenceMaximum)),
                referenceAbsMean: a.referenceAbsMean, channelPeakRatio: a.channelPeakRatio, topChannels: a.topChannels,
                cheapSensitivity: plan.input != nil ? a.rangeParameter : weightRange, measuredKL: nil)
        }
        var report = DebugReport(
            model: reference.path, recipe: quantized.plan.recipe.name, inputSource: inputSource,
            inputTokens: tokens.count,
            outputKL: output.klDivergence, outputTop1Agreement: output.top1Agreement, layers: entries)
        report.analysisSeconds = Date().timeIntervalSince(start)

        if configuration.measureSensitivity {
            let sensitivityStart = Date()
            let kl = try LayerSensitivity.measure(
                layers: layers, reference: floatModel, quantized: quantized, tokens: tokens,
                distribution: distribution,
                progress: progress.sensitivity)
            for i in report.layers.indices { report.layers[i].measuredKL = kl[report.layers[i].name] }
            report.sensitivitySeconds = Date().timeIntervalSince(sensitivityStart)
            report.updateRankCorrelation()
        }
        return Result(report: report, weights: weights, weightHistograms: histograms, activations: hooks.statistics)
    }

    /// Weight statistics of every layer, layers in parallel.
    static func weightStatistics(_ names: [String], float: [String: Tensor], quantized: [String: Tensor]) -> [String:
        WeightStatistics]
    {
        var results = [WeightStatistics?](repeating: nil, count: names.count)
        results.withUnsafeMutableBufferPointer { buffer in
            nonisolated(unsafe) let slots = buffer.baseAddress!
            Parallel.forEach(count: names.count) { i in
                slots[i] = WeightStatistics(
                    layer: names[i], weight: float[names[i]]!, dequantized: quantized[names[i]]!)
            }
        }
        return Dictionary(uniqueKeysWithValues: zip(names, results.map { $0! }))
    }
}
