import Foundation
import Inference
import QuantAlgorithms
import QuantCore
import TensorCore

/// A model quantized by a recipe. Its layers carry their quantization (stored weight codes, activation quantizers with
/// calibrated parameters), so `loaded.model` runs as the quantized model everywhere.
public struct QuantizedModel: Sendable {
    /// What `quanta quantize` reports.
    public struct Summary: Codable, Sendable, Equatable {
        public var recipe: String
        public var quantizedLayers: Int
        public var excludedLayers: [String]
        /// Bits per weight over the quantized layers (scales and zero points included).
        public var bitsPerWeight: Double
        /// Bits per weight over every linear weight, float ones counted at 32.
        public var bitsPerWeightAllLinears: Double
        public var calibrationSamples: Int
        public var calibrationTokens: Int
        public var calibrationSeconds: Double
        public var quantizationSeconds: Double
        /// Peak resident memory of the process when quantization finished, in MiB.
        public var peakMemoryMB: Double
        /// Algorithms run, in order.
        public var algorithms: [String] = []
        /// Wall time of the algorithms (calibration passes included).
        public var algorithmSeconds: Double = 0
        /// What each algorithm did per block.
        public var algorithmReports: [AlgorithmReport] = []

        enum CodingKeys: String, CodingKey {
            case recipe
            case quantizedLayers = "quantized_layers"
            case excludedLayers = "excluded_layers"
            case bitsPerWeight = "bits_per_weight"
            case bitsPerWeightAllLinears = "bits_per_weight_all_linears"
            case calibrationSamples = "calibration_samples"
            case calibrationTokens = "calibration_tokens"
            case calibrationSeconds = "calibration_seconds"
            case quantizationSeconds = "quantization_seconds"
            case peakMemoryMB = "peak_memory_mb"
            case algorithms
            case algorithmSeconds = "algorithm_seconds"
            case algorithmReports = "algorithm_reports"
        }
    }

    public var loaded: LoadedModel
    public let plan: QuantizationPlan
    public var summary: Summary
    /// The float model after the recipe's function-preserving transforms (rotation, SmoothQuant and AWQ scale
    /// migration) and before any rounding: what the quantized model approximates, layer for layer in the same basis.
    /// Kept only when asked for (`keepsReference`), since it is a second copy of the weights.
    public var reference: LlamaModel?

    /// The quantized model, as every runner runs it.
    public var model: LlamaModel { loaded.model }
}

/// Runs a recipe: weight quantization, calibration of static activation scales, activation quantizers.
public enum ModelQuantization {
    /// Progress callbacks for long phases.
    public struct Progress {
        public var weights: (Int, Int) -> Void = { _, _ in }
        public var calibrationData: (Int, Int) -> Void = { _, _ in }
        public var calibration: (Int, Int) -> Void = { _, _ in }
        /// Blocks done by the block-wise algorithms.
        public var blocks: (Int, Int) -> Void = { _, _ in }
        /// One line per algorithm and block: what it chose and the loss before → after.
        public var log: (String) -> Void = { _ in }
        public init() {}
    }

    /// Quantizes `loaded` by `recipe`. Everything that can be checked is checked before work starts.
    /// - Parameters: `keepsReference`: also return the transformed float model (`QuantizedModel.reference`), for the
    ///   debugger. `cache`: calibration windows and static-point statistics to reuse and to add to (see
    ///   `CalibrationCache` for when they are reused).
    public static func run(
        _ loaded: LoadedModel, recipe: QuantRecipe, keepsReference: Bool = false, cache: CalibrationCache? = nil,
        progress: Progress = Progress()
    ) throws -> QuantizedModel {
        try recipe.validate()
        let plan = try QuantizationPlan(recipe: recipe, model: loaded.model)
        let weightKey = cache?.weightKey(plan) ?? ""
        let transforms = recipe.algorithms.compactMap { step -> (any ModelTransforming)? in
            if case .modelTransform(let transform) = step.role { transform } else { nil }
        }
        let blockSteps = recipe.algorithms.filter { $0.stage != .wholeModel }
        let blockwise = try blockSteps.isEmpty ? nil : LayerwiseQuantization.Steps(blockSteps)
        if recipe.needsCalibration || blockwise != nil {
            // Fail on a bad file before the slow weight pass.
            if let file = recipe.calibration.file { _ = try CalibrationText.read(file) }
            if let tokenFile = recipe.calibration.tokenFile {
                _ = try CalibrationTokens.read(tokenFile, vocabularySize: loaded.model.configuration.vocabularySize)
            }
        }
        var result = loaded
        var windows: [[Int]]?
        func calibrationWindows() throws -> [[Int]] {
            if let windows { return windows }
            let made = try cache?.windows(for: recipe.calibration, weights: weightKey) ?? CalibrationData.windows(
                recipe.calibration, model: result.model, tokenizer: try loaded.requireTokenizer(), progress: progress.calibrationData)
            cache?.store(windows: made, for: recipe.calibration, weights: weightKey)
            windows = made
            return made
        }
        let algorithmStart = Date()
        var algorithmWeights: [String: QuantizedTensor] = [:]
        var reports: [AlgorithmReport] = []
        let transformKey = cache.map { _ in CalibrationCache.transformKey(recipe.algorithms.filter { $0.stage == .wholeModel }) }
        if let transformKey, let model = cache?.transformedModel(transformKey) {
            result.model = model
            progress.log("whole-model transforms: reused from the calibration cache")
        } else {
            for transform in transforms { progress.log(try transform.transform(&result.model)) }
            if let transformKey, !transforms.isEmpty { cache?.store(transformed: result.model, for: transformKey) }
        }
        var reference = keepsReference ? result.model : nil
        if let blockwise {
            (algorithmWeights, reports) = try LayerwiseQuantization.run(
                &result.model, plan: plan, steps: blockwise, windows: try calibrationWindows(), reference: &reference,
                progress: progress.blocks, log: progress.log)
        }
        let algorithmSeconds = Date().timeIntervalSince(algorithmStart)
        let start = Date()
        var weights = try quantizeWeights(&result.model, plan: plan, skipping: Set(algorithmWeights.keys), progress: progress.weights)
        weights.merge(algorithmWeights) { a, _ in a }
        let quantizationSeconds = Date().timeIntervalSince(start)

        var points: [QuantizationPoint: ActivationQuantizer] = [:]
        for layer in plan.layers {
            if let input = layer.input { points[QuantizationPoint(layer: layer.name, kind: .input)] = ActivationQuantizer(scheme: input) }
            if let output = layer.output { points[QuantizationPoint(layer: layer.name, kind: .output)] = ActivationQuantizer(scheme: output) }
        }
        if let kv = recipe.kvCache {
            let scheme = try Self.keyValuePointScheme(kv)
            for index in 0..<loaded.model.configuration.layerCount {
                points[.keyValue(index, .keys)] = ActivationQuantizer(scheme: scheme)
                points[.keyValue(index, .values)] = ActivationQuantizer(scheme: scheme)
            }
        }
        let calibrationStart = Date()
        var samples = 0, tokens = 0
        let staticPoints = points.filter { Self.needsCalibration($0.value.scheme) }
        if !staticPoints.isEmpty {
            let windows = try calibrationWindows()
            var observers: [QuantizationPoint: any Observer] = [:]
            for (point, quantizer) in staticPoints {
                observers[point] = cache?.observer(point, quantizer.scheme, calibration: recipe.calibration, plan: plan)
            }
            let missing = staticPoints.filter { observers[$0.key] == nil }.mapValues(\.scheme)
            if !missing.isEmpty {
                let hooks = try CalibrationHooks(schemes: missing)
                // The output head runs only when logits are asked for: a static point on it needs them all.
                let head = result.model.lmHead.name
                let logits: LlamaModel.LogitsSelection = missing.keys.contains { $0.layer == head } ? .all : .none
                for (index, window) in windows.enumerated() {
                    var kv = result.model.makeCache(capacity: window.count)
                    _ = try result.model.forward(tokens: window, cache: &kv, logits: logits, hooks: hooks)
                    if let error = hooks.firstError { throw error }
                    progress.calibration(index + 1, windows.count)
                }
                observers.merge(hooks.observers) { a, _ in a }
                cache?.store(hooks.observers, schemes: missing, calibration: recipe.calibration, plan: plan)
            }
            samples = windows.count
            tokens = windows.reduce(0) { $0 + $1.count }
            for (point, observer) in observers {
                let scheme = points[point]!.scheme
                let maximum = scheme.dataType.isInteger ? nil : try MiniFloatFormat(dataType: scheme.dataType).maxFinite
                if scheme.granularity == .perChannel, let kv = recipe.kvCache, let groupSize = kv.groupSize {
                    points[point]!.parameters = try Self.perGroupParameters(observer, groupSize: groupSize, scheme: scheme, formatMaximum: maximum)
                } else {
                    points[point]!.parameters = try observer.parameters(scheme: scheme, formatMaximum: maximum)
                }
            }
        }
        let quantizedElements = weights.values.reduce(0) { $0 + $1.elementCount }
        let quantizedBits = weights.values.reduce(0.0) { $0 + $1.bitsPerElement * Double($1.elementCount) }
        let allElements = plan.layers.reduce(0) { $0 + $1.inFeatures * $1.outFeatures }
        let summary = QuantizedModel.Summary(
            recipe: recipe.name, quantizedLayers: plan.quantizedLayerCount, excludedLayers: plan.excludedLayerNames,
            bitsPerWeight: quantizedElements == 0 ? 32 : quantizedBits / Double(quantizedElements),
            bitsPerWeightAllLinears: (quantizedBits + Double(allElements - quantizedElements) * 32) / Double(max(allElements, 1)),
            calibrationSamples: samples, calibrationTokens: tokens,
            calibrationSeconds: staticPoints.isEmpty ? 0 : Date().timeIntervalSince(calibrationStart),
            quantizationSeconds: quantizationSeconds, peakMemoryMB: ResourceUsage.peakMemoryMB(),
            algorithms: recipe.algorithms.map(\.name), algorithmSeconds: recipe.algorithms.isEmpty ? 0 : algorithmSeconds,
            algorithmReports: reports)
        // Calibration ran the model with quantized weights and float activations; now each layer takes its quantizers.
        try result.model.installActivationQuantizers(points)
        return QuantizedModel(loaded: result, plan: plan, summary: summary, reference: reference)
    }

    /// The scheme a KV-cache point runs: a static per-group scheme (one scale per head when the group is head_dim)
    /// becomes per channel along the width, each channel holding its group's calibrated range, since one calibrated
    /// scale per group must apply to every position.
    static func keyValuePointScheme(_ kv: QuantScheme) throws -> QuantScheme {
        guard !kv.isDynamic, kv.granularity == .perGroup else { return kv }
        var scheme = kv
        scheme.granularity = .perChannel
        scheme.axis = 1
        scheme.groupSize = nil
        try scheme.validate()
        return scheme
    }

    /// Per-channel parameters whose channels share their group's range (min and max over the group's channels).
    static func perGroupParameters(
        _ observer: any Observer, groupSize: Int, scheme: QuantScheme, formatMaximum: Float?
    ) throws -> QuantParameters {
        var (minimum, maximum) = try observer.channelRanges()
        for start in stride(from: 0, to: minimum.count, by: groupSize) {
            let range = start..<min(minimum.count, start + groupSize)
            let low = minimum[range].min()!, high = maximum[range].max()!
            for c in range {
                minimum[c] = low
                maximum[c] = high
            }
        }
        return try QuantParameters.compute(
            minimum: minimum, maximum: maximum, scheme: scheme, shape: [1, minimum.count], formatMaximum: formatMaximum)
    }

    /// Static schemes whose parameters come from calibration (not dynamic, not MX, not a plain cast).
    static func needsCalibration(_ scheme: QuantScheme) -> Bool {
        !scheme.isDynamic && !scheme.dataType.isMicroscaling && !scheme.dataType.isFloatCast
    }

    /// Quantizes every planned weight (layers in parallel) and writes the dequantized values back into the model.
    static func quantizeWeights(
        _ model: inout LlamaModel, plan: QuantizationPlan, skipping done: Set<String> = [], progress: (Int, Int) -> Void
    ) throws -> [String: QuantizedTensor] {
        let jobs = plan.layers.filter { !done.contains($0.name) }.compactMap { layer in layer.weight.map { (layer.name, $0) } }
        let sources = Dictionary(uniqueKeysWithValues: model.linearLayers.map { ($0.name, $0.weight) })
        var results = [Result<(QuantizedTensor, Tensor), any Error>?](repeating: nil, count: jobs.count)
        results.withUnsafeMutableBufferPointer { buffer in
            nonisolated(unsafe) let slots = buffer.baseAddress!
            Parallel.forEach(count: jobs.count) { index in
                let (name, scheme) = jobs[index]
                slots[index] = Result { () throws -> (QuantizedTensor, Tensor) in
                    let quantized = try TensorQuantizer.quantize(sources[name]!, scheme: scheme)
                    return (quantized, try quantized.dequantized())
                }.mapError { error in QuantizationError.layerFailed(layer: name, reason: "\(error)") as any Error }
            }
        }
        var stored: [String: QuantizedTensor] = [:]
        for (index, (name, _)) in jobs.enumerated() {
            let (quantized, dequantized) = try results[index]!.get()
            stored[name] = quantized
            // Tied embeddings: the LM head shares the embedding's storage, so replacing its weight leaves the
            // embedding table in float, as intended.
            model.updateLinear(name) { $0.setQuantizedWeight(quantized, dequantized: dequantized) }
            progress(index + 1, jobs.count)
        }
        return stored
    }
}
