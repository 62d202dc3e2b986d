import Foundation
import Pipeline
import Testing
import TestSupport

extension CommandLineTests {
    /// A command line ArgumentParser rejects (status 64) whose first stderr line is `Error: <message>`.
    static func expectUsageError(_ arguments: [String], message: String) throws {
        let outcome = try run(arguments)
        #expect(outcome.status == 64, "stderr: \(outcome.stderr)")
        #expect(outcome.stderr.split(separator: "\n").first.map(String.init) == "Error: \(message)", "stderr: \(outcome.stderr)")
    }
}

/// `--version`, unknown and out-of-range flags named as typed, and JSON that lists the paths written.
@Suite(.enabled(if: RealData.quantaExecutable != nil, "build the quanta executable first (swift build)"))
struct CommandLineConventionTests {
    @Test func versionIsPrinted() throws {
        let outcome = try CommandLineTests.run(["--version"])
        #expect(outcome.status == 0)
        #expect(outcome.stdout == "0.4.0\n")
    }

    /// ArgumentParser alone would report the missing `--out` (or `--text`) first.
    @Test func anUnknownOptionIsNamedEvenWhenARequiredOneIsMissing() throws {
        let (model, text, directory) = try TinyModelFiles.modelAndCalibrationText()
        try CommandLineTests.expectUsageError(
            ["quantize", model, "--recipe", "w8a16", "--output", directory + "/q"],
            message: "Unknown option '--output'. Did you mean '--out'?")
        try CommandLineTests.expectUsageError(
            ["eval", model, "--txt=" + text], message: "Unknown option '--txt'. Did you mean '--text'?")
        try CommandLineTests.expectUsageError(
            ["generate", model, "--prompt", "hi", "--colour", "red"], message: "Unknown option '--colour'")
        #expect(!FileManager.default.fileExists(atPath: directory + "/q"))
    }

    /// Negative numbers are values, not options, and every bound names the flag, before any file is read.
    @Test(arguments: [
        (["quantize", "m.gguf", "--recipe", "w8a16", "--out", "q", "--samples", "-3"], "--samples must be >= 1, got -3"),
        (["quantize", "m.gguf", "--recipe", "w8a16", "--out", "q", "--samples", "0"], "--samples must be >= 1, got 0"),
        (["analyze", "m.gguf", "--recipe", "w8a16", "--out", "a", "--seq-len", "1"], "--seq-len must be >= 2, got 1"),
        (["analyze", "m.gguf", "--recipe", "w8a16", "--out", "a", "--tokens", "-5"], "--tokens must be >= 2, got -5"),
        (["eval", "m.gguf", "--text", "t.txt", "--windows", "-2"], "--windows must be >= 0 (0 scores every window), got -2"),
        (["eval", "m.gguf", "--text", "t.txt", "--seq-len", "-1"], "--seq-len must be >= 2, got -1"),
        (["generate", "m.gguf", "--prompt", "hi", "--max-tokens", "0"], "--max-tokens must be >= 1, got 0"),
        (["generate", "m.gguf", "--prompt", "hi", "--top-k", "-1"], "--top-k must be >= 1, got -1"),
        (["generate", "m.gguf", "--prompt", "hi", "--temperature", "-0.5"], "--temperature must be >= 0 (0 is greedy), got -0.5"),
        (["generate", "m.gguf", "--prompt", "hi", "--top-p", "1.5"], "--top-p must be in (0, 1], got 1.5"),
        (["generate", "m.gguf", "--prompt", "hi", "--count", "0"], "--count must be >= 1, got 0"),
    ])
    func outOfRangeNumbersNameTheFlag(arguments: [String], message: String) throws {
        try CommandLineTests.expectUsageError(arguments, message: message)
    }

    /// `generate --count N` decodes N seeds as one batch and prints what N single runs with those seeds print.
    @Test func countedSamplesEqualSingleRunsWithTheirSeeds() throws {
        let (model, _, _) = try TinyModelFiles.modelAndCalibrationText()
        let common = ["generate", model, "--raw", "--prompt", "the cat", "--max-tokens", "12", "--temperature", "0.9"]
        let batch = try CommandLineTests.run(common + ["--seed", "3", "--count", "3"])
        #expect(batch.status == 0, "\(batch.stderr)")
        var singles = ""
        for seed in 3...5 {
            let single = try CommandLineTests.run(common + ["--seed", "\(seed)"])
            #expect(single.status == 0, "\(single.stderr)")
            singles += single.stdout + "\n"
        }
        #expect(batch.stdout == singles)
        let distinct = Set(batch.stdout.components(separatedBy: "\n\n").filter { !$0.isEmpty })
        #expect(distinct.count > 1, "three seeds gave one text: \(batch.stdout)")
    }

    /// Paths appear as typed (no `\/`), and each file or folder written is in the JSON.
    @Test func jsonListsThePathsWritten() throws {
        let (model, text, directory) = try TinyModelFiles.modelAndCalibrationText()
        let calibration = ["--calib", text, "--samples", "2", "--seq-len", "16", "--json"]
        let quantize = try CommandLineTests.run(
            ["quantize", model, "--recipe", "w8a8-int8-static", "--out", directory + "/q", "--debug", directory + "/d"]
                + calibration)
        #expect(quantize.status == 0, "stderr: \(quantize.stderr)")
        #expect(!quantize.stdout.contains("\\/"))
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(quantize.stdout.utf8)) as? [String: Any])
        #expect(summary["output"] as? String == directory + "/q")
        #expect(summary["debug_report"] as? String == directory + "/d/index.html")
        #expect(summary["quantized_layers"] as? Int == 14)
        #expect(FileManager.default.fileExists(atPath: directory + "/d/index.html"))

        let analyze = try CommandLineTests.run(
            ["analyze", model, "--recipe", "w8a16", "--out", directory + "/a", "--no-sensitivity"] + calibration)
        #expect(analyze.status == 0, "stderr: \(analyze.stderr)")
        #expect(!analyze.stdout.contains("\\/"))
        let report = try #require(try JSONSerialization.jsonObject(with: Data(analyze.stdout.utf8)) as? [String: Any])
        #expect(report["output"] as? String == directory + "/a")
        #expect(report["report"] as? String == directory + "/a/index.html")
    }
}
