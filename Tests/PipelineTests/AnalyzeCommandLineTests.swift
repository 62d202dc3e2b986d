import Foundation
import Testing
import TestSupport

/// `quanta analyze` and `quanta quantize --debug` / QUANTA_DEBUG through the built binary.
@Suite(.enabled(if: RealData.quantaExecutable != nil, "build the quanta executable first (swift build)"))
struct AnalyzeCommandLineTests {
    static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> CommandLineTests.Outcome {
        try CommandLineTests.run(arguments, environment: environment)
    }

    static func fixture() throws -> (model: String, text: String, directory: String) {
        try TinyModelFiles.modelAndCalibrationText()
    }

    @Test func badInputFailsWithOneErrorLine() throws {
        let (model, text, directory) = try Self.fixture()
        let base = ["analyze", model, "--calib", text, "--samples", "2", "--seq-len", "16"]
        try CommandLineTests.expectOneErrorLine(
            base + ["--recipe", "w9a9", "--out", directory + "/a"], mentioning: "w9a9")
        try CommandLineTests.expectOneErrorLine(
            ["analyze", directory + "/absent.gguf", "--recipe", "w8a8-int8-static", "--out", directory + "/a"],
            mentioning: "no such file")
        try CommandLineTests.expectOneErrorLine(
            base + ["--recipe", "w8a8-int8-static", "--input", directory + "/absent.txt", "--out", directory + "/a"],
            mentioning: "absent.txt")
        let empty = directory + "/empty.txt"
        #expect(FileManager.default.createFile(atPath: empty, contents: Data()))
        try CommandLineTests.expectOneErrorLine(
            base + ["--recipe", "w8a8-int8-static", "--input", empty, "--out", directory + "/a"], mentioning: "empty")
        try CommandLineTests.expectUsageError(
            base + ["--recipe", "w8a8-int8-static", "--tokens", "1", "--out", directory + "/a"],
            message: "--tokens must be >= 2, got 1")
        try FileManager.default.createDirectory(atPath: directory + "/exists", withIntermediateDirectories: true)
        try CommandLineTests.expectOneErrorLine(
            base + ["--recipe", "w8a8-int8-static", "--out", directory + "/exists"], mentioning: "already exists")
        #expect(!FileManager.default.fileExists(atPath: directory + "/a"))
    }

    @Test func analyzeWritesTheReportAndPrintsJSON() throws {
        let (model, text, directory) = try Self.fixture()
        let out = directory + "/report"
        let outcome = try Self.run([
            "analyze", model, "--recipe", "w8a8-int8-static", "--calib", text, "--samples", "2", "--seq-len", "16",
            "--input", text,
            "--tokens", "40", "--out", out, "--json",
        ])
        #expect(outcome.status == 0, "stderr: \(outcome.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any])
        #expect((json["top_layers"] as? [String])?.count == 5)
        #expect((json["output_kl"] as? Double).map { $0 > 0 } == true)
        #expect(json["sensitivity_spearman"] != nil)
        let summary = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/summary.json")))
                as? [String: Any])
        #expect(summary["input_tokens"] as? Int == 40)
        #expect((summary["layers"] as? [Any])?.count == 14)
    }

    @Test func quantizeWritesTheDebugReportFromTheFlagOrTheEnvironment() throws {
        let (model, text, directory) = try Self.fixture()
        let common = [
            "quantize", model, "--recipe", "w8a8-int8-static", "--calib", text, "--samples", "2", "--seq-len", "16",
        ]
        let flag = try Self.run(common + ["--out", directory + "/q1", "--debug", directory + "/d1"])
        #expect(flag.status == 0, "stderr: \(flag.stderr)")
        #expect(FileManager.default.fileExists(atPath: directory + "/d1/index.html"))
        #expect(FileManager.default.fileExists(atPath: directory + "/q1/model.safetensors"))
        // Without QUANTA_DEBUG_ACT_HIST the activation histograms are left out; with it they are written.
        #expect(
            !(try FileManager.default.contentsOfDirectory(atPath: directory + "/d1/plots")).contains {
                $0.hasSuffix("act_hist.svg")
            })
        let environment = try Self.run(
            common + ["--out", directory + "/q2"],
            environment: [
                "QUANTA_DEBUG": directory + "/d2", "QUANTA_DEBUG_ACT_HIST": "1", "QUANTA_DEBUG_INPUT": text,
                "QUANTA_DEBUG_SENSITIVITY": "0",
            ])
        #expect(environment.status == 0, "stderr: \(environment.stderr)")
        let plots = try FileManager.default.contentsOfDirectory(atPath: directory + "/d2/plots")
        #expect(plots.filter { $0.hasSuffix("act_hist.svg") }.count == 14)
        let summary =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: directory + "/d2/summary.json"))) as? [String: Any]
        #expect(summary?["input_source"] as? String == text)
        #expect(summary?["sensitivity_seconds"] == nil)
        let flagged =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: directory + "/d1/summary.json"))) as? [String: Any]
        #expect(flagged?["sensitivity_seconds"] != nil)
        // The same settings as flags.
        let flags = try Self.run(common + [
            "--out", directory + "/q3", "--debug", directory + "/d3", "--debug-input", text, "--debug-activation-histograms",
            "--debug-no-sensitivity",
        ])
        #expect(flags.status == 0, "stderr: \(flags.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory + "/d3/plots").filter { $0.hasSuffix("act_hist.svg") }.count == 14)
        let third =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: directory + "/d3/summary.json"))) as? [String: Any]
        #expect(third?["input_source"] as? String == text)
        #expect(third?["sensitivity_seconds"] == nil)
        // Debug settings without --debug are a usage error.
        let orphan = try Self.run(common + ["--out", directory + "/q4", "--debug-no-sensitivity"])
        #expect(orphan.status != 0 && orphan.stderr.contains("need --debug DIR"), "\(orphan.stderr)")
    }
}

/// Quiet surprises made loud: requantizing an already quantized source, analysing a text too short to say anything.
@Suite struct RequantizeAndShortInputTests {
    @Test func quantizingAQuantizedSourceWarnsUnlessAllowed() throws {
        let (model, text, directory) = try TinyModelFiles.modelAndCalibrationText()
        let common = ["--recipe", "w8a16", "--calib", text, "--samples", "2", "--seq-len", "16"]
        let first = try CommandLineTests.run(["quantize", model] + common + ["--out", directory + "/q1"])
        #expect(first.status == 0 && !first.stderr.contains("already quantized"), "\(first.stderr)")
        let again = try CommandLineTests.run(["quantize", directory + "/q1"] + common + ["--out", directory + "/q2"])
        #expect(again.status == 0)
        #expect(again.stderr.contains("is already quantized (a Quanta folder quantized with recipe w8a16)"), "\(again.stderr)")
        let allowed = try CommandLineTests.run(
            ["quantize", directory + "/q1"] + common + ["--out", directory + "/q3", "--allow-requantize"])
        #expect(allowed.status == 0 && !allowed.stderr.contains("already quantized"), "\(allowed.stderr)")
    }

    @Test func analyzeRefusesAnInputShorterThanTheTokensToAnalyse() throws {
        let (model, text, directory) = try TinyModelFiles.modelAndCalibrationText()
        let short = directory + "/short.txt"
        try "two words".write(toFile: short, atomically: true, encoding: .utf8)
        let result = try CommandLineTests.run([
            "analyze", model, "--recipe", "w8a16", "--calib", text, "--samples", "2", "--seq-len", "16", "--input", short,
            "--tokens", "40", "--out", directory + "/a",
        ])
        #expect(result.status != 0)
        #expect(result.stderr.contains("fewer than the 40 to analyse"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: directory + "/a"))
    }
}
