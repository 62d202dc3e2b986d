import Foundation
import Testing
import TestSupport

/// `--calib-tokens` on quantize, analyze and tune: exclusive with `--calib` (and with the sampling flags it replaces),
/// its windows used as they are, and a bad file refused with one line that names it.
@Suite(.enabled(if: RealData.quantaExecutable != nil, "build the quanta executable first (swift build)"))
struct CalibrationTokensCommandLineTests {
    static func tokenFile(_ json: String, in directory: String) throws -> String {
        let path = directory + "/windows.json"
        try json.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func calibAndCalibTokensTogetherAreRefused() throws {
        let (model, text, directory) = try TinyModelFiles.modelAndCalibrationText()
        let tokens = try Self.tokenFile("[[1, 2, 3]]", in: directory)
        let message = "--calib and --calib-tokens are exclusive: give calibration text or token windows"
        try CommandLineTests.expectUsageError(
            ["quantize", model, "--recipe", "w8a8-int8-static", "--out", directory + "/q", "--calib", text,
             "--calib-tokens", tokens], message: message)
        try CommandLineTests.expectUsageError(
            ["analyze", model, "--recipe", "w8a8-int8-static", "--out", directory + "/a", "--calib", text,
             "--calib-tokens", tokens], message: message)
        try CommandLineTests.expectUsageError(
            ["tune", model, "--recipe", "w8a8-int8-static", "--budget", "ppl<=+1%", "--eval", text,
             "--out", directory + "/t", "--calib", text, "--calib-tokens", tokens], message: message)
        try CommandLineTests.expectUsageError(
            ["quantize", model, "--recipe", "w8a8-int8-static", "--out", directory + "/q", "--calib-tokens", tokens,
             "--samples", "4"],
            message: "--samples does not apply to --calib-tokens: its windows are used as they are (count and length)")
        #expect(!FileManager.default.fileExists(atPath: directory + "/q"))
    }

    /// The windows are the calibration samples: their count and tokens are reported.
    @Test func tokenWindowsCalibrateAStaticPreset() throws {
        let (model, _, directory) = try TinyModelFiles.modelAndCalibrationText()
        let windows = (0..<3).map { w in (0..<20).map { (w * 7 + $0 * 13) % 260 } }
        let tokens = try Self.tokenFile("[" + windows.map { "[" + $0.map(String.init).joined(separator: ",") + "]" }
            .joined(separator: ",") + "]", in: directory)
        let outcome = try CommandLineTests.run(
            ["quantize", model, "--recipe", "w8a8-int8-static", "--out", directory + "/q", "--calib-tokens", tokens,
             "--json"])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let summary = try #require(
            try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any])
        #expect(summary["calibration_samples"] as? Int == 3)
        #expect(summary["calibration_tokens"] as? Int == 60)
    }

    @Test func badTokenFilesFailWithOneLineNamingTheFile() throws {
        let (model, _, directory) = try TinyModelFiles.modelAndCalibrationText()
        let arguments = { (file: String) in
            ["quantize", model, "--recipe", "w8a8-int8-static", "--out", directory + "/q", "--calib-tokens", file]
        }
        let ragged = try Self.tokenFile("[[1, 2, 3], [4, 5]]", in: directory)
        try CommandLineTests.expectOneErrorLine(arguments(ragged), mentioning: "\(ragged): calibration token windows: ragged")
        let outOfVocabulary = try Self.tokenFile("[[1, 2, 3], [4, 5, 261]]", in: directory)
        try CommandLineTests.expectOneErrorLine(
            arguments(outOfVocabulary), mentioning: "id 261 is outside the model's vocabulary [0, 261)")
        let empty = try Self.tokenFile("", in: directory)
        try CommandLineTests.expectOneErrorLine(arguments(empty), mentioning: "\(empty): calibration token windows: the file is empty")
        #expect(!FileManager.default.fileExists(atPath: directory + "/q"))
    }
}
