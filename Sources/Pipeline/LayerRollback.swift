import Analysis
import Foundation
import Quantization

/// Rollback by count: rank a quantized model's layers by the debugger's sensitivity and keep the most sensitive in
/// float (msModelSlim's `disable_level='LN'`, with a measured ranking besides its `range_parm`).
public enum LayerRollback {
    /// How layers are ranked.
    public enum Ranking: String, CaseIterable, Sendable, Codable {
        /// The debugger's cheap statistic: the input's `range_parm` for layers whose input is quantized, the
        /// weight's range over its standard deviation for weight-only layers. No extra forward passes.
        case range
        /// KL(float ‖ float model with only this layer quantized) on the analysis batch: one pass per layer.
        case measured
    }

    /// One ranked layer.
    public struct RankedLayer: Codable, Sendable, Equatable {
        public var name: String
        public var score: Double
    }

    /// The layers of `quantized` (weight or input quantized), most sensitive first, on the first calibration window
    /// (re-drawn from the recipe's seed). `quantized` must keep its transformed float reference
    /// (`ModelQuantization.run(…, keepsReference: true)`) when its recipe transforms the model.
    public static func rank(
        reference: LoadedModel, quantized: QuantizedModel, by ranking: Ranking,
        progress: QuantizationDebugger.Progress = .init()
    ) throws -> [RankedLayer] {
        let options = DebugCommand.Options(inputFile: nil, outputDirectory: "")
        let (tokens, source) = try DebugCommand.inputTokens(
            options, quantized: quantized, tokenizer: try reference.requireTokenizer())
        let result = try QuantizationDebugger.analyze(
            reference: reference, quantized: quantized, tokens: tokens, inputSource: source,
            configuration: .init(activationHistograms: false, measureSensitivity: ranking == .measured), progress: progress)
        let ranked = result.report.layers.map { layer in
            RankedLayer(name: layer.name, score: ranking == .measured ? layer.measuredKL ?? 0 : layer.cheapSensitivity)
        }
        // Ties (and NaN-free equal scores) keep model order, so the choice is deterministic.
        return ranked.enumerated().sorted { a, b in
            a.element.score != b.element.score ? a.element.score > b.element.score : a.offset < b.offset
        }.map(\.element)
    }

    /// `recipe` with the `count` most sensitive layers of `ranked` kept in float.
    /// - Throws: `PipelineError.invalidArgument` when `count` exceeds the layers that are quantized.
    public static func recipe(_ recipe: QuantRecipe, keepingFloat count: Int, of ranked: [RankedLayer]) throws -> QuantRecipe {
        guard count <= ranked.count else {
            throw PipelineError.invalidArgument(
                "cannot roll back \(count) layers: the recipe quantizes \(ranked.count)")
        }
        var result = recipe
        for layer in ranked.prefix(count) { result.keepFloat(layer.name) }
        return result
    }
}
