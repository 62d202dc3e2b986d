import Foundation
import Pipeline
import Quantization
import TestSupport
import Testing

/// A token file holding the windows Quanta's own sampler draws calibrates exactly as the text does.
@Suite struct CalibrationTokensQuantizeTests {
    @Test func tokenFileOfTheSampledWindowsReproducesTextCalibration() throws {
        let (modelPath, text, directory) = try TinyModelFiles.modelAndCalibrationText()
        var recipe = try QuantRecipe.preset("w8a8-int8-static")
        recipe.calibration = .init(file: text, samples: 3, sequenceLength: 16, seed: 5)
        let loaded = try ModelLoader.load(modelPath)
        let fromText = try ModelQuantization.run(loaded, recipe: recipe)
        let windows = try CalibrationData.windows(
            recipe.calibration, model: loaded.model, tokenizer: try loaded.requireTokenizer())
        let path = directory + "/windows.json"
        try ("[" + windows.map { "[" + $0.map(String.init).joined(separator: ", ") + "]" }.joined(separator: ",\n") + "]")
            .write(toFile: path, atomically: true, encoding: .utf8)

        recipe.calibration = .init(tokenFile: path)
        let fromTokens = try ModelQuantization.run(try ModelLoader.load(modelPath), recipe: recipe)
        #expect(fromTokens.summary.calibrationSamples == 3 && fromTokens.summary.calibrationTokens == 48)
        #expect(fromTokens.model.activationQuantizers == fromText.model.activationQuantizers)
        #expect(!fromTokens.model.activationQuantizers.isEmpty)
    }

    /// The library's errors name the file and the problem, never a command-line flag.
    @Test func anOutOfVocabularyFileFailsBeforeTheWeightPass() throws {
        let (modelPath, _, directory) = try TinyModelFiles.modelAndCalibrationText()
        let path = directory + "/oov.json"
        try "[[1, 2], [3, 900]]".write(toFile: path, atomically: true, encoding: .utf8)
        var recipe = try QuantRecipe.preset("w8a8-int8-static")
        recipe.calibration = .init(tokenFile: path)
        #expect(throws: QuantizationError.invalidCalibrationTokens(
            path: path, reason: "window 1, position 1: id 900 is outside the model's vocabulary [0, 261)")) {
            try ModelQuantization.run(try ModelLoader.load(modelPath), recipe: recipe)
        }
    }
}
