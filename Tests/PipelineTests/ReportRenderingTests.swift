import Foundation
import Pipeline
import Testing
import TestSupport

/// Renders the debugger's index.html in headless Chromium (Debian's `chromium`, installed by scripts/install-deps.sh):
/// the screenshot must not be blank and the rendered DOM must hold the charts.
/// Where headless Chromium is, and running it (or any tool) with a time limit.
enum HeadlessBrowser {
    static var chromium: String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            for name in ["chromium", "chromium-browser"]
            where FileManager.default.isExecutableFile(atPath: "\(directory)/\(name)") {
                return "\(directory)/\(name)"
            }
        }
        return nil
    }

    /// Runs `executable` and returns its standard output (through a temporary file); records an issue and stops it
    /// after `timeout` seconds.
    static func run(_ executable: String, _ arguments: [String], timeout: TimeInterval = 120) throws -> String {
        let outputPath = Fixtures.temporaryDirectory() + "/stdout"
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
        if process.isRunning {
            process.terminate()
            Issue.record("\(executable) did not finish in \(timeout) s")
        }
        process.waitUntilExit()
        try output.close()
        return try String(contentsOfFile: outputPath, encoding: .utf8)
    }
}

@Suite(
    .enabled(if: HeadlessBrowser.chromium != nil, "chromium is not installed (scripts/install-deps.sh installs it)"),
    .serialized)
struct ReportRenderingTests {
    static func report() throws -> (page: String, directory: String) {
        let (loaded, quantized, directory) = try QuantizationDebuggerTests.quantized()
        let out = directory + "/debug"
        _ = try DebugCommand.run(
            reference: loaded, quantized: quantized, options: .init(inputFile: nil, outputDirectory: out))
        return ("file://" + out + "/index.html", directory)
    }

    static func chromiumArguments(_ directory: String) -> [String] {
        [
            "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
            "--user-data-dir=\(directory)/chromium-profile",
        ]
    }

    @Test func screenshotIsNotBlank() throws {
        let (page, directory) = try Self.report()
        let png = directory + "/report.png"
        _ = try HeadlessBrowser.run(
            HeadlessBrowser.chromium!,
            Self.chromiumArguments(directory) + ["--screenshot=\(png)", "--window-size=1280,1400", page])
        #expect(FileManager.default.fileExists(atPath: png), "chromium wrote no screenshot")
        let script = try #require(
            Bundle.module.url(forResource: "png_stats", withExtension: "py", subdirectory: "Fixtures"))
        let json = try HeadlessBrowser.run("/usr/bin/env", ["python3", script.path, png])
        let stats = try #require(
            try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any], "png_stats.py printed \(json)")
        #expect(stats["width"] as? Int == 1280)
        // A blank page is one color; the report has text, axes and colored bars.
        let colors = try #require(stats["distinct_colors"] as? Int)
        let share = try #require(stats["non_background_share"] as? Double)
        #expect(colors > 20, "only \(colors) colors in the screenshot")
        #expect(share > 0.03, "only \(share * 100)% of the screenshot differs from the background")
    }

    @Test func renderedPageHoldsTheChartsAndTables() throws {
        let (page, directory) = try Self.report()
        let dom = try HeadlessBrowser.run(
            HeadlessBrowser.chromium!, Self.chromiumArguments(directory) + ["--dump-dom", page])
        for id in [
            "chart-ref-output-error", "chart-io-error", "chart-ref-input-error", "chart-weight-error",
            "chart-measured-kl",
            "layer-table", "sensitivity-table", "findings",
        ] {
            #expect(dom.contains("id=\"\(id)\""), "rendered page lacks #\(id)")
        }
        // 7 summary charts + 4 plots for each of the 14 layers.
        let svgCount = dom.components(separatedBy: "<svg").count - 1
        #expect(svgCount == 7 + 14 * 4, "\(svgCount) <svg> elements")
        // One bar per layer in each summary chart.
        let chart = try #require(
            dom.components(separatedBy: "id=\"chart-ref-output-error\"").dropFirst().first?.components(
                separatedBy: "</svg>"
            ).first)
        #expect(chart.components(separatedBy: "<title>").count - 1 == 14)
    }

    @Test func scriptOpensTheLayerNamedInTheAddress() throws {
        let (page, directory) = try Self.report()
        let layer = "model.layers.1.mlp.down_proj"
        let dom = try HeadlessBrowser.run(
            HeadlessBrowser.chromium!, Self.chromiumArguments(directory) + ["--dump-dom", page + "#layer-" + layer])
        // The page's script ran (no syntax error) and opened that row's plots, and only those.
        #expect(dom.contains("<details id=\"layer-\(layer)\" open=\"\">"), "the row of \(layer) is not open")
        #expect(dom.components(separatedBy: "open=\"\"").count - 1 == 1)
    }
}
