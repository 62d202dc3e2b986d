import Foundation
import Inference
import QuantAlgorithms
import QuantCore
@testable import Quantization
import Testing
import TestSupport

/// The model protocol's seam: a second architecture (a BERT-style encoder block, `TinyEncoder`) runs through
/// calibration capture, round-to-nearest, GPTQ and SmoothQuant in the same block-wise driver as Llama.
@Suite struct EncoderSeamTests {
    static let windows: [[Int]] = (0..<6).map { w in (0..<12).map { (w * 7 + $0 * 11) % 50 } }
    /// Scale migration is exact up to float rounding through LayerNorm weights and biases.
    static let migrationTolerance: Float = 1e-4

    static func plan(_ encoder: TinyEncoder) throws -> QuantizationPlan {
        let recipe = try QuantRecipe(
            name: "w4-g8", weight: try QuantScheme(dataType: .uint4, granularity: .perGroup, groupSize: 8, isSymmetric: false),
            exclude: [])
        return try QuantizationPlan(recipe: recipe, model: encoder)
    }

    static func run(_ steps: [AlgorithmStep], keepsReference: Bool = false) throws -> (TinyEncoder, TinyEncoder?) {
        var model = TinyEncoder()
        var reference: TinyEncoder? = keepsReference ? model : nil
        _ = try LayerwiseQuantization.run(
            &model, plan: try plan(model), steps: try LayerwiseQuantization.Steps(steps), windows: windows,
            reference: &reference)
        return (model, reference)
    }

    /// Mean squared difference of the final hidden states against the float encoder over the calibration windows.
    static func error(_ model: TinyEncoder) throws -> Float {
        let float = TinyEncoder()
        var total: Float = 0, count = 0
        for window in windows {
            let a = try float.encode(window), b = try model.encode(window)
            total += zip(a, b).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
            count += a.count
        }
        return total / Float(count)
    }

    @Test func roundToNearestQuantizesEveryLinear() throws {
        let (model, _) = try Self.run([])
        #expect(model.linearLayers.count == 12)
        for linear in model.linearLayers {
            let stored = try #require(linear.quantizedWeight, "\(linear.name)")
            #expect(try stored.dequantized().scalars == linear.weight.scalars)
        }
        #expect(try Self.error(model) > 0)
    }

    @Test func gptqBeatsRoundToNearestOnTheEncoder() throws {
        let rtn = try Self.error(try Self.run([]).0)
        let gptq = try Self.error(try Self.run([try .named("gptq")]).0)
        #expect(gptq < rtn, "GPTQ \(gptq) vs RTN \(rtn)")
    }

    @Test func smoothQuantKeepsTheFloatEncodersFunction() throws {
        let (quantized, reference) = try Self.run(
            [.smoothQuant(try SmoothQuant.Configuration(alpha: 0.5))], keepsReference: true)
        let smoothed = try #require(reference)
        let float = TinyEncoder()
        // The scales moved through both LayerNorms (weights and biases) and v → o, and the function stayed.
        #expect(smoothed.blocks[0].attentionNormBias.scalars != float.blocks[0].attentionNormBias.scalars)
        #expect(smoothed.blocks[0].value.weight.scalars != float.blocks[0].value.weight.scalars)
        for window in Self.windows {
            let a = try float.encode(window), b = try smoothed.encode(window)
            let scale = a.map(abs).max()!
            #expect(Tolerance.maxAbsDifference(a, b) < Self.migrationTolerance * scale)
        }
        #expect(quantized.linearLayers.allSatisfy { $0.quantizedWeight != nil })
    }
}
