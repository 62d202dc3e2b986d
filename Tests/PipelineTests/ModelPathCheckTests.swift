import Foundation
import Pipeline
import Testing
import TestSupport

/// A model path naming a file inside a Hugging Face folder (the weights, config.json) says to pass the folder.
@Suite struct ModelPathCheckTests {
    @Test func aSafetensorsFileIsNotLoadedAsGGUF() throws {
        let folder = Fixtures.temporaryDirectory() + "/hf"
        try TinyModelFiles.writeHuggingFaceFolder(to: folder, configuration: TinyModelFiles.configuration())
        #expect(throws: PipelineError.unrecognizedModel(
            path: folder + "/model.safetensors",
            reason: "a safetensors file; pass the folder that holds config.json (\(folder))")) {
            try ModelLoader.load(folder + "/model.safetensors")
        }
        let gguf = Fixtures.temporaryDirectory() + "/m.gguf"
        try TinyModelFiles.writeGGUF(to: gguf, configuration: TinyModelFiles.configuration())
        #expect(throws: Never.self) { try ModelPathCheck.rejectFileInsideModelFolder(gguf) }
        #expect(throws: Never.self) { try ModelPathCheck.rejectFileInsideModelFolder(folder) }
    }

    @Test(.enabled(if: RealData.quantaExecutable != nil, "build the quanta executable first (swift build)"))
    func filesInsideAHuggingFaceFolderAreNamedAsSuchByTheBinary() throws {
        let directory = Fixtures.temporaryDirectory()
        let folder = directory + "/hf"
        try TinyModelFiles.writeHuggingFaceFolder(to: folder, configuration: TinyModelFiles.configuration())
        let renamed = directory + "/weights.bin"
        try FileManager.default.copyItem(atPath: folder + "/model.safetensors", toPath: renamed)
        let hint = "pass the folder that holds config.json"
        try CommandLineTests.expectOneErrorLine(
            ["info", folder + "/model.safetensors"],
            mentioning: "\(folder)/model.safetensors: not a model Quanta can load: a safetensors file; \(hint) (\(folder))")
        try CommandLineTests.expectOneErrorLine(["info", renamed], mentioning: "a safetensors file; \(hint) (\(directory))")
        try CommandLineTests.expectOneErrorLine(
            ["info", folder + "/config.json"], mentioning: "a JSON file; \(hint) (\(folder))")
        #expect(try CommandLineTests.run(["info", folder]).status == 0)
    }
}
