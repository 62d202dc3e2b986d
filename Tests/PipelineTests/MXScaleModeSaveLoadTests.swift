import Foundation
import Inference
import Pipeline
import QuantCore
import Quantization
import TensorCore
import TestSupport
import Testing

/// A saved MX model records each scheme's `scale_mode`, and reloading reproduces it (the activation quantizers
/// choose block exponents on every call).
@Suite struct MXScaleModeSaveLoadTests {
    @Test func scaleModesAreSavedAndReloaded() throws {
        let (modelPath, text, directory) = try TinyModelFiles.modelAndCalibrationText()
        let recipePath = directory + "/mx-modes.yaml"
        try """
            name: mxfp4-modes
            weight: {dtype: mxfp4_e2m1, scale_mode: search}
            input: {dtype: mxfp4_e2m1, dynamic: true, scale_mode: even}
            calibration: {file: \(text), samples: 2, seq_len: 16}
            """.write(toFile: recipePath, atomically: true, encoding: .utf8)
        let recipe = try RecipeLoader.load(recipePath)
        #expect(recipe.weight?.scaleMode == .search && recipe.input?.scaleMode == .even)
        let quantized = try ModelQuantization.run(try ModelLoader.load(modelPath), recipe: recipe)
        let inputs = quantized.model.activationQuantizers.filter { $0.key.kind == .input }
        #expect(!inputs.isEmpty && inputs.values.allSatisfy { $0.scheme.scaleMode == .even })

        let out = directory + "/mx-modes"
        try QuantizedModelFolder.save(quantized, to: out, overwrite: true)
        let json = try String(contentsOfFile: out + "/quantization.json", encoding: .utf8)
            .filter { !$0.isWhitespace }
        #expect(json.contains(#""scale_mode":"search""#) && json.contains(#""scale_mode":"even""#))
        let reloaded = try ModelLoader.load(out)
        #expect(reloaded.model.activationQuantizers == quantized.model.activationQuantizers)
        let tokens = [1, 100, 200, 258, 7, 33, 99, 12]
        #expect(try reloaded.model.logits(for: tokens).scalars == quantized.model.logits(for: tokens).scalars)

        // The mode changes the result: the same recipe under floor gives other weights.
        var floorRecipe = recipe
        floorRecipe.weight?.scaleMode = .floor
        floorRecipe.input?.scaleMode = .floor
        let floor = try ModelQuantization.run(try ModelLoader.load(modelPath), recipe: floorRecipe)
        #expect(zip(floor.loaded.model.linearLayers, quantized.loaded.model.linearLayers).contains {
            $0.weight.scalars != $1.weight.scalars
        })
    }
}
