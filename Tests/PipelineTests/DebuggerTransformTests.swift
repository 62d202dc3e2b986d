import Analysis
import Foundation
import Pipeline
import QuantCore
import Quantization
import TestSupport
import Testing

/// The debugger's reference goes through the same function-preserving transforms as the quantized model, so with
/// (almost) no rounding every layer shows (almost) no error, whatever the transforms moved.
@Suite struct DebuggerTransformTests {
    /// float16 weights and inputs: relative rounding 2⁻¹¹ per element, compounded over two tiny blocks; Quark's
    /// relative errors weigh elements near zero heavily (measured: 1e-3 typical, 0.08 at most; SQNR above 60 dB).
    static let nearlyLosslessError = 0.1
    static let nearlyLosslessSQNR = 55.0
    static let nearlyLosslessKL = 1e-5

    static func analysis(algorithms: String, keepsReference: Bool = true) throws -> DebugReport {
        let (modelPath, text, _) = try TinyModelFiles.modelAndCalibrationText()
        let recipe = try JSONDecoder().decode(QuantRecipe.self, from: Data("""
            {"name": "f16", "weight": {"dtype": "float16"}, "input": {"dtype": "float16"}, "algorithms": \(algorithms),
             "calibration": {"file": "\(text)", "samples": 2, "seq_len": 16}}
            """.utf8))
        let loaded = try ModelLoader.load(modelPath)
        let quantized = try ModelQuantization.run(loaded, recipe: recipe, keepsReference: keepsReference)
        return try QuantizationDebugger.analyze(
            reference: loaded, quantized: quantized, tokens: QuantizationDebuggerTests.tokens, inputSource: "test"
        ).report
    }

    @Test(arguments: ["[\"rotation\"]", "[{\"name\": \"smoothquant\", \"alpha\": 0.8}]", "[\"rotation\", \"smoothquant\"]"])
    func transformedModelsShowNoErrorWithoutRounding(algorithms: String) throws {
        let report = try Self.analysis(algorithms: algorithms)
        #expect(report.layers.count == 14)
        for layer in report.layers {
            #expect(layer.referenceInputError < Self.nearlyLosslessError, "\(layer.name): ref input error \(layer.referenceInputError)")
            #expect(layer.referenceOutputError < Self.nearlyLosslessError, "\(layer.name): ref output error \(layer.referenceOutputError)")
            #expect(layer.sqnrDecibels > Self.nearlyLosslessSQNR, "\(layer.name): SQNR \(layer.sqnrDecibels) dB")
            #expect((layer.measuredKL ?? 1) < Self.nearlyLosslessKL, "\(layer.name): measured KL \(String(describing: layer.measuredKL))")
        }
        #expect(report.outputKL < Self.nearlyLosslessKL)
    }

    @Test func theUntransformedReferenceWouldCompareDifferentFunctions() throws {
        // What the debugger measured before it kept the transformed reference: rotated layers against unrotated ones.
        let report = try Self.analysis(algorithms: "[\"rotation\"]", keepsReference: false)
        // Measured: errors 2.6–22, SQNR below 0 dB and single-layer KL 0.1–1.6 on every layer.
        for layer in report.layers {
            #expect(layer.sqnrDecibels < 10, "\(layer.name): SQNR \(layer.sqnrDecibels) dB")
            #expect(layer.referenceInputError > 10 * Self.nearlyLosslessError, "\(layer.name)")
        }
    }
}
