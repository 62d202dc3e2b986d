import Foundation
import Testing
import TestSupport

/// `quanta quantize --algorithm ...`: progress per block on stderr, the summary names the algorithms, bad names and
/// orders fail with one line.
@Suite(.enabled(if: RealData.quantaExecutable != nil, "build the quanta executable first (swift build)"))
struct AlgorithmCommandLineTests {
    static func fixture() throws -> (model: String, text: String, directory: String) {
        try TinyModelFiles.modelAndCalibrationText()
    }

    @Test func algorithmsRunInTheOrderGivenAndReportPerBlock() throws {
        let (model, text, directory) = try Self.fixture()
        let outcome = try CommandLineTests.run([
            "quantize", model, "--recipe", "w4a16-g32", "--calib", text, "--samples", "2", "--seq-len", "16",
            "--algorithm", "awq", "--algorithm", "gptq", "--out", directory + "/q", "--json",
        ])
        #expect(outcome.status == 0, "stderr: \(outcome.stderr)")
        for line in ["block 1/2 awq:", "block 2/2 awq:", "block 1/2 gptq:", "block 2/2 gptq:"] {
            #expect(outcome.stderr.contains(line), "stderr lacks \(line): \(outcome.stderr)")
        }
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any])
        #expect(summary["algorithms"] as? [String] == ["awq", "gptq"])
        #expect((summary["algorithm_reports"] as? [Any])?.isEmpty == false)
        #expect(FileManager.default.fileExists(atPath: directory + "/q/quantization.json"))
    }

    @Test func badAlgorithmsFailWithOneLine() throws {
        let (model, text, directory) = try Self.fixture()
        let base = ["quantize", model, "--recipe", "w4a16-g32", "--calib", text, "--out", directory + "/q"]
        try CommandLineTests.expectOneErrorLine(base + ["--algorithm", "squeeze"], mentioning: "'squeeze' is not available")
        try CommandLineTests.expectOneErrorLine(
            base + ["--algorithm", "gptq", "--algorithm", "awq"], mentioning: "gptq rounds the weights and must come last")
        try CommandLineTests.expectOneErrorLine(
            ["quantize", model, "--recipe", "fp8", "--calib", text, "--out", directory + "/q", "--algorithm", "gptq"],
            mentioning: "gptq needs integer weights")
        #expect(!FileManager.default.fileExists(atPath: directory + "/q"))
    }
}
