import Foundation
import ModelFormats
import TestSupport
import Testing

/// `quanta export` through the built binary: a saved folder becomes a GGUF, the JSON report's fields, and bad input
/// gives one `error:` line (naming the flag that gets past a refusal) and a non-zero exit.
@Suite(.enabled(if: RealData.quantaExecutable != nil, "build the quanta executable first (swift build)"), .serialized)
struct ExportCommandLineTests {
    struct Outcome {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    static func run(_ arguments: [String]) throws -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: RealData.quantaExecutable!)
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Outcome(
            status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr, as: UTF8.self))
    }

    static func expectOneErrorLine(_ arguments: [String], mentioning fragments: [String]) throws {
        let outcome = try run(arguments)
        #expect(outcome.status != 0)
        #expect(
            outcome.stderr.split(separator: "\n").count == 1 && outcome.stderr.hasPrefix("error: "), "\(outcome.stderr)"
        )
        for fragment in fragments {
            #expect(outcome.stderr.contains(fragment), "\(outcome.stderr) should mention \(fragment)")
        }
    }

    /// A tiny GGUF whose rows are whole blocks, quantized by `recipe` (JSON) into a folder.
    static func quantizedFolder(recipe: String) throws -> (folder: String, directory: String) {
        let directory = Fixtures.temporaryDirectory()
        try TinyModelFiles.writeGGUF(to: directory + "/m.gguf", configuration: ExportFixtures.configuration())
        try String(repeating: "the theme in the text, then the other thing. ", count: 30).write(
            toFile: directory + "/t.txt", atomically: true, encoding: .utf8)
        try recipe.write(toFile: directory + "/r.json", atomically: true, encoding: .utf8)
        let outcome = try run([
            "quantize", directory + "/m.gguf", "--recipe", directory + "/r.json", "--calib", directory + "/t.txt",
            "--samples", "2", "--seq-len", "16", "--out", directory + "/q", "--allow-requantize",
        ])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        return (directory + "/q", directory)
    }

    @Test func aSavedFolderBecomesAGGUFAndTheJSONReportSaysHow() throws {
        let (folder, directory) = try Self.quantizedFolder(
            recipe:
                #"{"name": "g32", "weight": {"dtype": "uint4", "granularity": "per_group", "group_size": 32, "symmetric": false}}"#
        )
        let out = directory + "/m.q4_1.gguf"
        let outcome = try Self.run(["export", folder, "--format", "gguf", "--out", out, "--json"])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any])
        // The recipe leaves lm_head in float, so it is F16 beside the embedding.
        #expect(report["layers_from_codes"] as? Int == 14)
        #expect(report["tensor_types"] as? [String: Int] == ["Q4_1": 14, "F16": 2, "F32": 5])
        #expect((report["requantized_layers"] as? [String])?.isEmpty == true)
        #expect((report["scale_rounding"] as? [String: Any])?["max_change_in_steps"] as? Double ?? 1 < 0.02)
        #expect(report["output"] as? String == out)
        #expect(try GGUFFile(path: out).info("blk.1.ffn_down.weight").type == .q4_1)
        // An existing output is kept without --overwrite.
        try Self.expectOneErrorLine(
            ["export", folder, "--format", "gguf", "--out", out], mentioning: ["already exists", "--overwrite"])
        #expect(try Self.run(["export", folder, "--format", "gguf", "--out", out, "--overwrite"]).status == 0)
    }

    @Test func quantizeWithFormatWritesWhatQuantizeThenExportWrites() throws {
        let (folder, directory) = try Self.quantizedFolder(
            recipe:
                #"{"name": "g32", "weight": {"dtype": "uint4", "granularity": "per_group", "group_size": 32, "symmetric": false}}"#
        )
        // The folder's name becomes the GGUF's general.name: export one named as the one-go output is.
        let twoSteps = directory + "/two-steps/one-go.gguf", oneGo = directory + "/one-go.gguf"
        try FileManager.default.createDirectory(atPath: directory + "/two-steps", withIntermediateDirectories: false)
        try FileManager.default.moveItem(atPath: folder, toPath: directory + "/one-go")
        #expect(try Self.run(["export", directory + "/one-go", "--format", "gguf", "--out", twoSteps]).status == 0)
        let outcome = try Self.run([
            "quantize", directory + "/m.gguf", "--recipe", directory + "/r.json", "--calib", directory + "/t.txt",
            "--samples", "2", "--seq-len", "16", "--out", oneGo, "--format", "gguf", "--allow-requantize",
        ])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: oneGo)) == (try Data(contentsOf: URL(fileURLWithPath: twoSteps))))
        // Nothing but the output is left beside it.
        let left = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.contains("quanta-tmp") }
        #expect(left.isEmpty, "\(left)")
        try Self.expectValidationError(
            ["quantize", directory + "/m.gguf", "--recipe", "w8a16", "--out", directory + "/x", "--format", "tflite"],
            mentioning: ["--format", "gguf, hf or onnx"])
    }

    @Test func aRefusedSchemeNamesTheNearestTypeAndTheFlag() throws {
        let (folder, directory) = try Self.quantizedFolder(
            recipe:
                #"{"name": "g16", "weight": {"dtype": "uint4", "granularity": "per_group", "group_size": 16, "symmetric": false}}"#
        )
        let out = directory + "/exported.gguf"
        try Self.expectOneErrorLine(
            ["export", folder, "--format", "gguf", "--out", out],
            mentioning: ["groups of 16", "nearest GGML type is Q4_1", "--requantize q4_1"])
        #expect(!FileManager.default.fileExists(atPath: out))
        let outcome = try Self.run(["export", folder, "--format", "gguf", "--out", out, "--requantize", "q4_1"])
        #expect(outcome.status == 0 && outcome.stdout.contains("requantized:  14 layers to Q4_1"), "\(outcome.stdout)")
    }

    /// ArgumentParser prints a `ValidationError` as `Error: …` followed by the usage, and exits 64.
    static func expectValidationError(_ arguments: [String], mentioning fragments: [String]) throws {
        let outcome = try run(arguments)
        #expect(outcome.status == 64)
        let first = outcome.stderr.split(separator: "\n").first.map(String.init) ?? ""
        for fragment in fragments { #expect(first.contains(fragment), "\(first) should mention \(fragment)") }
    }

    @Test func badFlagsAndInputFail() throws {
        let directory = Fixtures.temporaryDirectory()
        try Self.expectValidationError(
            ["export", directory, "--format", "tflite", "--out", directory + "/x"], mentioning: ["--format", "gguf, hf, onnx"])
        try Self.expectValidationError(
            ["export", directory, "--format", "gguf", "--out", directory + "/x", "--type", "q2_k"],
            mentioning: ["--type", "q2_k", "q8_0"])
        try Self.expectOneErrorLine(
            ["export", directory + "/absent", "--format", "gguf", "--out", directory + "/x"],
            mentioning: ["no such file"])
    }

    @Test func rotationAndGPTQCodesAreKeptUnlessTheRotationIsOnline() throws {
        let weight = #""weight": {"dtype": "uint4", "granularity": "per_group", "group_size": 32, "symmetric": false}"#
        let (offline, directory) = try Self.quantizedFolder(
            recipe: #"{"name": "rot-gptq", "#
                + weight + #", "algorithms": [{"name": "rotation", "online_down_projection": false}, "gptq"]}"#)
        let out = directory + "/rotated.gguf"
        let outcome = try Self.run(["export", offline, "--format", "gguf", "--out", out, "--json"])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any])
        #expect(report["layers_from_codes"] as? Int == 14)
        #expect((report["scale_rounding"] as? [String: Any])?["max_change_in_steps"] as? Double ?? 1 < 0.02)

        let (online, _) = try Self.quantizedFolder(
            recipe: #"{"name": "rot", "# + weight + #", "algorithms": ["rotation"]}"#)
        try Self.expectOneErrorLine(
            ["export", online, "--format", "gguf", "--out", directory + "/online.gguf"],
            mentioning: ["mlp.down_proj (and 1 more layer)", "online_down_projection: false", "--requantize q4_1"])
    }
}
