import Foundation
import Pipeline
import Testing
import TestSupport

/// Progress is a redrawn bar on a terminal and plain, throttled lines anywhere else.
@Suite struct ProgressBarTests {
    /// Collects what a bar writes.
    final class Sink: @unchecked Sendable {
        var text = ""
        func write(_ piece: String) { text += piece }
    }

    @Test func plainLinesComeFirstThenAtMostEveryIntervalAndAtTheEndOnce() {
        let sink = Sink()
        let bar = ProgressBar("calibration ", total: 128, style: .lines, interval: 3600, write: sink.write)
        for done in 1...128 { bar.update(done) }
        bar.update(128)
        #expect(sink.text == "calibration: 1/128 (0%)\ncalibration: 128/128 (100%)\n")
    }

    @Test func aZeroIntervalPrintsEveryStepWithItsPercentage() {
        let sink = Sink()
        let bar = ProgressBar("blocks", total: 3, style: .lines, interval: 0, write: sink.write)
        for done in 1...3 { bar.update(done, detail: "awq") }
        #expect(sink.text == "blocks: 1/3 (33%) awq\nblocks: 2/3 (66%) awq\nblocks: 3/3 (100%) awq\n")
    }

    @Test func theTerminalBarRedrawsInPlace() {
        let sink = Sink()
        let bar = ProgressBar("eval", total: 2, style: .bar, write: sink.write)
        bar.update(2)
        #expect(sink.text.hasPrefix("\reval "))
        #expect(sink.text.hasSuffix("\n"))
    }
}

/// The binary's stderr, piped as in a log, holds progress lines and no carriage returns or escape codes.
@Suite(.enabled(if: RealData.quantaExecutable != nil, "build the quanta executable first (swift build)"))
struct ProgressOutputTests {
    static func expectPlain(_ stderr: String, containing lines: [String]) {
        #expect(!stderr.contains("\r"), "stderr: \(stderr.debugDescription)")
        #expect(!stderr.contains("\u{1B}"), "stderr: \(stderr.debugDescription)")
        let printed = Set(stderr.split(separator: "\n").map(String.init))
        for line in lines { #expect(printed.contains(line), "stderr lacks \(line): \(stderr)") }
    }

    @Test func quantizeAndEvalPrintPlainLinesIntoAPipe() throws {
        let (model, text, directory) = try TinyModelFiles.modelAndCalibrationText()
        let quantize = try CommandLineTests.run([
            "quantize", model, "--recipe", "w8a8-int8-static", "--calib", text, "--samples", "3", "--seq-len", "16",
            "--algorithm", "smoothquant", "--out", directory + "/q",
        ])
        #expect(quantize.status == 0, "stderr: \(quantize.stderr)")
        Self.expectPlain(quantize.stderr, containing: ["calibration: 3/3 (100%)", "blocks: 2/2 (100%)"])
        #expect(quantize.stderr.contains("block 2/2 smoothquant"), "stderr: \(quantize.stderr)")

        let eval = try CommandLineTests.run(["eval", directory + "/q", "--text", text, "--seq-len", "16", "--windows", "2"])
        #expect(eval.status == 0, "stderr: \(eval.stderr)")
        Self.expectPlain(eval.stderr, containing: ["eval: 1/2 (50%)", "eval: 2/2 (100%)"])
    }
}
