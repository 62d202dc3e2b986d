import Foundation
import ModelFormats
import TestSupport
import Testing

/// `quanta export --format hf` through the built binary: a saved folder becomes a compressed-tensors folder that
/// `quanta` itself loads again (HuggingFaceModelSource recognizes the quantization_config) and evaluates to the same
/// perplexity as the folder it came from.
@Suite(.enabled(if: RealData.quantaExecutable != nil, "build the quanta executable first (swift build)"), .serialized)
struct CompressedTensorsCommandLineTests {
    typealias CLI = ExportCommandLineTests

    @Test func aSavedFolderBecomesACompressedTensorsFolderQuantaLoadsAgain() throws {
        let (folder, directory) = try CLI.quantizedFolder(
            recipe:
                #"{"name": "g32", "weight": {"dtype": "uint4", "granularity": "per_group", "group_size": 32, "symmetric": false}, "algorithms": ["gptq"]}"#
        )
        let out = directory + "/hf"
        let outcome = try CLI.run(["export", folder, "--format", "hf", "--out", out, "--type", "f32", "--json"])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any])
        // The recipe leaves lm_head in float: 14 layers from their codes, lm_head in `ignore`.
        #expect(report["quantized_layers"] as? Int == 14)
        #expect(report["ignore"] as? [String] == ["lm_head"] && report["format"] as? String == "pack-quantized")
        #expect(report["tokenizer_files"] as? [String] == ["tokenizer.json", "tokenizer_config.json"])
        // Both folders evaluate to the same perplexity on the same text, up to float rounding: the saved folder runs
        // from packed 4-bit codes (dequantized as s·u + offset, within 2 ulp, other summation order), the
        // compressed-tensors folder from float weights.
        func perplexity(_ model: String) throws -> Double {
            let run = try CLI.run([
                "eval", model, "--text", directory + "/t.txt", "--seq-len", "16", "--windows", "2", "--json",
            ])
            #expect(run.status == 0, "\(run.stderr)")
            let object = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
            return try #require(object["perplexity"] as? Double)
        }
        let (exported, saved) = (try perplexity(out), try perplexity(folder))
        #expect(abs(exported - saved) <= 1e-4 * saved, "\(exported) vs \(saved)")
        let info = try CLI.run(["info", out])
        #expect(info.status == 0 && info.stdout.contains("compressed-tensors"), "\(info.stdout)\(info.stderr)")
        try CLI.expectOneErrorLine(
            ["export", folder, "--format", "hf", "--out", out], mentioning: ["already exists", "--overwrite"])
    }

    @Test func refusalsAndBadFlagsFail() throws {
        let (online, directory) = try CLI.quantizedFolder(
            recipe:
                #"{"name": "rot", "weight": {"dtype": "int4", "granularity": "per_group", "group_size": 32}, "algorithms": ["rotation"]}"#
        )
        try CLI.expectOneErrorLine(
            ["export", online, "--format", "hf", "--out", directory + "/hf"],
            mentioning: ["mlp.down_proj (and 1 more place)", "online", "compressed-tensors cannot hold this exactly"])
        #expect(!FileManager.default.fileExists(atPath: directory + "/hf"))
        try CLI.expectValidationError(
            ["export", online, "--format", "hf", "--out", directory + "/x", "--type", "q4_0"],
            mentioning: ["--type", "f16"])
        try CLI.expectValidationError(
            ["export", online, "--format", "hf", "--out", directory + "/x", "--requantize", "q4_0"],
            mentioning: ["--requantize", "gguf"])
    }
}
