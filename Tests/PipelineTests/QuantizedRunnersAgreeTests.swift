import Foundation
import Inference
import Pipeline
import QuantCore
import Quantization
import TestSupport
import Testing

/// A quantized model is one function: the benchmark's prefill + decode path, evaluation's whole-sequence pass and
/// generation all run the layers' own quantizers, on a model fresh from quantization or reloaded from its folder.
@Suite struct QuantizedRunnersAgreeTests {
    /// Prefill/decode against a whole-sequence pass: different BLAS shapes, so float rounding order differs.
    static let runnerTolerance: Float = 1e-3

    static func savedStaticModel() throws -> (float: LoadedModel, quantized: QuantizedModel, reloaded: LoadedModel) {
        let (modelPath, text, directory) = try TinyModelFiles.modelAndCalibrationText()
        let recipe = try JSONDecoder().decode(QuantRecipe.self, from: Data("""
            {"name": "w8a8-kv", "weight": {"dtype": "int8", "granularity": "per_channel"},
             "input": {"dtype": "int8"}, "kv_cache": {"dtype": "fp8_e4m3"},
             "calibration": {"file": "\(text)", "samples": 2, "seq_len": 16}}
            """.utf8))
        let float = try ModelLoader.load(modelPath)
        let quantized = try ModelQuantization.run(float, recipe: recipe)
        try QuantizedModelFolder.save(quantized, to: directory + "/q")
        return (float, quantized, try ModelLoader.load(directory + "/q"))
    }

    @Test func benchRunsTheComputationEvalScores() throws {
        let (float, _, reloaded) = try Self.savedStaticModel()
        let prompt = [1, 100, 200, 258, 7, 33, 99, 12]
        let run = try EngineBenchmark.greedyRun(reloaded.model, prompt: prompt, decodeTokens: 4)
        // Evaluation's path: one pass over the prompt and the tokens the benchmark fed back.
        let sequence = prompt + run.tokens
        let evaluated = try reloaded.model.logits(for: sequence)
        let vocabulary = reloaded.model.vocabularySize
        for (step, row) in run.logits.enumerated() {
            let position = prompt.count - 1 + step
            let expected = Array(evaluated.scalars[(position * vocabulary)..<((position + 1) * vocabulary)])
            let difference = Tolerance.maxAbsDifference(row, expected)
            #expect(difference < Self.runnerTolerance, "step \(step): bench and eval logits differ by \(difference)")
        }
        // The float model computes something else: the quantizers are part of what both paths ran.
        let floatLogits = try float.model.logits(for: sequence)
        #expect(Tolerance.maxAbsDifference(floatLogits.scalars, evaluated.scalars) > 100 * Self.runnerTolerance)
    }

    @Test func layersCarryTheirQuantization() throws {
        let (_, quantized, reloaded) = try Self.savedStaticModel()
        for model in [quantized.model, reloaded.model] {
            for linear in model.linearLayers where linear.name != "lm_head" {
                #expect(linear.quantizedWeight?.scheme.dataType == .int8, "\(linear.name) weight codes")
                #expect(linear.inputQuantizer?.parameters != nil, "\(linear.name) static input quantizer")
                #expect(try linear.quantizedWeight!.dequantized().scalars == linear.weight.scalars)
            }
            #expect(model.blocks.allSatisfy { $0.keyQuantizer != nil && $0.valueQuantizer != nil })
        }
    }

    /// The output head runs only when logits are wanted; calibration asks for them when the head has a static input,
    /// so its observer sees every position (it used to see none and stop with "saw no values").
    @Test func aStaticInputOnTheHeadIsCalibrated() throws {
        let (modelPath, text, _) = try TinyModelFiles.modelAndCalibrationText()
        let recipe = try JSONDecoder().decode(QuantRecipe.self, from: Data("""
            {"name": "w8a8-head", "weight": {"dtype": "int8", "granularity": "per_channel"},
             "input": {"dtype": "int8"}, "exclude": [],
             "calibration": {"file": "\(text)", "samples": 2, "seq_len": 16}}
            """.utf8))
        let quantized = try ModelQuantization.run(try ModelLoader.load(modelPath), recipe: recipe)
        let head = quantized.model.lmHead
        let scale = try #require(head.inputQuantizer?.parameters?.scales.first)
        #expect(scale.isFinite && scale > 0, "lm_head input scale \(scale)")
    }

    @Test func changingAWeightDropsItsStaleCodes() throws {
        let (_, quantized, _) = try Self.savedStaticModel()
        var layer = quantized.model.blocks[0].queryProjection
        #expect(layer.quantizedWeight != nil)
        layer.weight.scalars[0] += 1
        #expect(layer.quantizedWeight == nil)
    }

    @Test func aNaNActivationNamesTheLayer() throws {
        let (_, quantized, _) = try Self.savedStaticModel()
        var model = quantized.model
        // A NaN in the first block's input norm reaches q_proj's input quantizer.
        model.blocks[0].inputNorm.scalars[0] = .nan
        #expect {
            _ = try model.logits(for: [1, 2, 3])
        } throws: { error in
            "\(error)".contains("model.layers.0.self_attn.q_proj.input")
        }
    }
}
