import Foundation
import Testing
import TestSupport

/// Runs the built `quanta` binary and checks that bad input gives one `error:` line and a non-zero exit.
@Suite(.enabled(if: RealData.quantaExecutable != nil, "build the quanta executable first (swift build)"))
struct CommandLineTests {
    struct Outcome { let status: Int32; let stdout: String; let stderr: String }

    /// Runs the quanta executable with `arguments` (and `environment` added to this process's).
    static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: RealData.quantaExecutable!)
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Outcome(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                       stderr: String(decoding: stderr, as: UTF8.self))
    }

    static func expectOneErrorLine(_ arguments: [String], mentioning fragment: String) throws {
        let outcome = try run(arguments)
        #expect(outcome.status != 0)
        let lines = outcome.stderr.split(separator: "\n")
        #expect(lines.count == 1, "stderr: \(outcome.stderr)")
        #expect(outcome.stderr.hasPrefix("error: "), "stderr: \(outcome.stderr)")
        #expect(outcome.stderr.contains(fragment), "stderr: \(outcome.stderr) should mention \(fragment)")
    }

    @Test func badModelFilesFailWithOneLine() throws {
        let directory = Fixtures.temporaryDirectory()
        let model = directory + "/m.gguf"
        try TinyModelFiles.writeGGUF(to: model, configuration: TinyModelFiles.configuration())
        let text = directory + "/t.txt"
        try String(repeating: "the theme in the text, ", count: 40).write(toFile: text, atomically: true, encoding: .utf8)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: model))

        let truncated = directory + "/truncated.gguf"
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: truncated))
        try Self.expectOneErrorLine(["eval", truncated, "--text", text], mentioning: "spans bytes")

        var corrupt = bytes
        corrupt[0] = 0x58
        let corruptPath = directory + "/corrupt.gguf"
        try corrupt.write(to: URL(fileURLWithPath: corruptPath))
        try Self.expectOneErrorLine(["eval", corruptPath, "--text", text], mentioning: "bad magic")

        let headerOnly = directory + "/header.gguf"
        try bytes.prefix(30).write(to: URL(fileURLWithPath: headerOnly))
        try Self.expectOneErrorLine(["info", headerOnly], mentioning: "counts too large for the file")

        try Self.expectOneErrorLine(["info", directory + "/absent.gguf"], mentioning: "no such file")
        try Self.expectOneErrorLine(["info", directory], mentioning: "config.json")
    }

    @Test func badTextAndSettingsFailWithOneLine() throws {
        let directory = Fixtures.temporaryDirectory()
        let model = directory + "/m.gguf"
        try TinyModelFiles.writeGGUF(to: model, configuration: TinyModelFiles.configuration())
        let empty = directory + "/empty.txt"
        #expect(FileManager.default.createFile(atPath: empty, contents: Data()))
        try Self.expectOneErrorLine(["eval", model, "--text", empty], mentioning: "empty")
        let short = directory + "/short.txt"
        try "the theme".write(toFile: short, atomically: true, encoding: .utf8)
        try Self.expectOneErrorLine(["eval", model, "--text", short], mentioning: "fewer than one window")
        try Self.expectUsageError(["eval", model, "--text", short, "--seq-len", "1"], message: "--seq-len must be >= 2, got 1")
        let noTokenizer = directory + "/plain.gguf"
        try TinyModelFiles.writeGGUF(to: noTokenizer, configuration: TinyModelFiles.configuration(), tokenizer: false)
        try Self.expectOneErrorLine(["eval", noTokenizer, "--text", short], mentioning: "no tokenizer")
    }

    @Test func evalPrintsJSONWithTheDocumentedKeys() throws {
        let directory = Fixtures.temporaryDirectory()
        let model = directory + "/m.gguf"
        try TinyModelFiles.writeGGUF(to: model, configuration: TinyModelFiles.configuration())
        let text = directory + "/t.txt"
        try String(repeating: "the theme in the text, ", count: 40).write(toFile: text, atomically: true, encoding: .utf8)
        let outcome = try Self.run(["eval", model, "--text", text, "--seq-len", "16", "--windows", "2", "--reference", model, "--json"])
        #expect(outcome.status == 0, "stderr: \(outcome.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any])
        #expect(object["tokens"] as? Int == 30)
        #expect((object["perplexity"] as? Double).map { $0 > 1 } == true)
        #expect(object["top1_agreement"] as? Double == 1)
        #expect((object["kl_divergence"] as? Double).map { abs($0) < 1e-9 } == true)
    }
}
