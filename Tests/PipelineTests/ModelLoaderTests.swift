import Analysis
import Foundation
import Inference
import ModelFormats
import Pipeline
import Quantization
import TensorCore
import Testing
import TestSupport

@Suite struct ModelLoaderTests {
    @Test func ggufAndHuggingFaceFolderComputeTheSameLogits() throws {
        let directory = Fixtures.temporaryDirectory()
        let c = TinyModelFiles.configuration()
        try TinyModelFiles.writeGGUF(to: directory + "/tiny.gguf", configuration: c)
        try TinyModelFiles.writeHuggingFaceFolder(to: directory + "/hf", configuration: c)
        let gguf = try ModelLoader.load(directory + "/tiny.gguf")
        let folder = try ModelLoader.load(directory + "/hf")
        // q/k were permuted into GGUF order on write: equal logits show the loader undid it.
        let tokens = [1, 100, 200, 258, 7, 33]
        let a = try gguf.model.logits(for: tokens), b = try folder.model.logits(for: tokens)
        #expect(Tolerance.maxAbsDifference(a.scalars, b.scalars) == 0)
        #expect(gguf.model.blocks[1].queryProjection.weight == folder.model.blocks[1].queryProjection.weight)
        // Both tokenizers encode alike.
        let text = "the theme in the<|endoftext|> x"
        #expect(try gguf.requireTokenizer().encode(text) == folder.requireTokenizer().encode(text))
    }

    @Test func unsupportedArchitectureIsNamed() throws {
        let directory = Fixtures.temporaryDirectory()
        try TinyModelFiles.writeGGUF(to: directory + "/m.gguf", configuration: TinyModelFiles.configuration(), architecture: "gpt2")
        #expect(throws: ModelError.unsupportedArchitecture("gpt2")) { try ModelLoader.load(directory + "/m.gguf") }
        try TinyModelFiles.writeHuggingFaceFolder(to: directory + "/hf", configuration: TinyModelFiles.configuration(), modelType: "mamba")
        #expect(throws: ModelError.unsupportedArchitecture("mamba")) { try ModelLoader.load(directory + "/hf") }
    }

    @Test func aBrokenTokenizerConfigIsAnErrorNotAMissingChatTemplate() throws {
        let directory = Fixtures.temporaryDirectory()
        try TinyModelFiles.writeHuggingFaceFolder(to: directory + "/hf", configuration: TinyModelFiles.configuration())
        let path = directory + "/hf/tokenizer_config.json"
        try "{\"chat_template\": ".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: PipelineError.unrecognizedModel(path: path, reason: "not a JSON object")) {
            _ = try ModelLoader.load(directory + "/hf")
        }
        try #"{"chat_template": 3}"#.write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: PipelineError.unrecognizedModel(path: path, reason: "'chat_template' is not a string")) {
            _ = try ModelLoader.load(directory + "/hf")
        }
    }

    @Test func missingTokenizerIsNamedWhenTextMustBeEncoded() throws {
        let directory = Fixtures.temporaryDirectory()
        let path = directory + "/m.gguf"
        try TinyModelFiles.writeGGUF(to: path, configuration: TinyModelFiles.configuration(), tokenizer: false)
        let text = directory + "/t.txt"
        try "some text".write(toFile: text, atomically: true, encoding: .utf8)
        #expect(throws: QuantizationError.missingTokenizer(path: path)) {
            try EvaluationCommand.run(modelPath: path, textPath: text, referencePath: nil, configuration: .init(sequenceLength: 4))
        }
    }

    @Test func emptyTextAndShortTextAreRejected() throws {
        let directory = Fixtures.temporaryDirectory()
        let path = directory + "/m.gguf"
        try TinyModelFiles.writeGGUF(to: path, configuration: TinyModelFiles.configuration())
        let empty = directory + "/empty.txt"
        #expect(FileManager.default.createFile(atPath: empty, contents: Data()))
        #expect(throws: QuantizationError.unreadableText(path: empty, reason: "the file is empty")) {
            try EvaluationCommand.run(modelPath: path, textPath: empty, referencePath: nil, configuration: .init(sequenceLength: 4))
        }
        let short = directory + "/short.txt"
        try "the theme".write(toFile: short, atomically: true, encoding: .utf8)
        #expect(throws: AnalysisError.textTooShort(tokenCount: 5, sequenceLength: 512)) {
            try EvaluationCommand.run(modelPath: path, textPath: short, referencePath: nil, configuration: .init())
        }
    }

    @Test func evaluationOfAModelAgainstItselfAgreesFully() throws {
        let directory = Fixtures.temporaryDirectory()
        let path = directory + "/m.gguf"
        try TinyModelFiles.writeGGUF(to: path, configuration: TinyModelFiles.configuration())
        let text = directory + "/t.txt"
        try String(repeating: "the theme in the text, ", count: 40).write(toFile: text, atomically: true, encoding: .utf8)
        let report = try EvaluationCommand.run(
            modelPath: path, textPath: text, referencePath: path, configuration: .init(sequenceLength: 16, windowCount: 3))
        #expect(report.result.windows == 3)
        #expect(report.result.tokens == 3 * 15)
        #expect(report.result.top1Agreement == 1)
        #expect(abs(report.result.klDivergence ?? 1) < 1e-9)
        #expect(abs((report.result.perplexityRatio ?? 0) - 1) < 1e-12)
    }
}
