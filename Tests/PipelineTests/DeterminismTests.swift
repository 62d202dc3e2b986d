import Foundation
import TestSupport
import Testing

/// The same inputs, recipe and seed give byte-identical saved models, the same analyze summary.json (timings aside)
/// and the same evaluation numbers, run after run and with `QUANTA_THREADS=1` or `2`.
@Suite(.enabled(if: RealData.quantaExecutable != nil, "build the quanta executable first (swift build)"))
struct DeterminismTests {
    static let threadCounts = ["1", "2", "1", "2"]

    /// Every file under `folder` (relative path → bytes).
    static func files(_ folder: String) throws -> [String: Data] {
        var result: [String: Data] = [:]
        let enumerator = try #require(FileManager.default.enumerator(atPath: folder))
        for case let path as String in enumerator {
            var isDirectory: ObjCBool = false
            FileManager.default.fileExists(atPath: folder + "/" + path, isDirectory: &isDirectory)
            if !isDirectory.boolValue { result[path] = try Data(contentsOf: URL(fileURLWithPath: folder + "/" + path)) }
        }
        return result
    }

    /// A JSON object without the keys that measure time or memory.
    static func withoutTimings(_ data: Data) throws -> NSDictionary {
        var object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        for key in ["seconds", "peak_memory_mb", "analysis_seconds", "sensitivity_seconds"] { object[key] = nil }
        return object as NSDictionary
    }

    /// The recipe shapes of the claim: plain rounding, GPTQ (Hessians, Cholesky, BLAS), and a static recipe with
    /// SmoothQuant (observers, scale migration). The tiny model's 128-token windows are below `BLAS.rowBlock`, so BLAS
    /// splits them by output columns; the row split uses fixed blocks by construction (and gave identical SmolLM2
    /// perplexities with 1 and 2 threads, see README).
    @Test(arguments: [
        ["--recipe", "w4a16-g32"],
        ["--recipe", "w4a16-g32", "--algorithm", "gptq"],
        ["--recipe", "w8a8-int8-static", "--algorithm", "smoothquant"],
    ])
    func quantizingTwiceWithOneOrTwoThreadsGivesIdenticalFolders(recipe: [String]) throws {
        let (model, text, directory) = try TinyModelFiles.modelAndCalibrationText()
        var folders: [[String: Data]] = []
        for (run, threads) in Self.threadCounts.enumerated() {
            let out = directory + "/q\(run)"
            let result = try CommandLineTests.run(
                ["quantize", model] + recipe + ["--calib", text, "--samples", "4", "--seq-len", "128", "--out", out],
                environment: ["QUANTA_THREADS": threads])
            #expect(result.status == 0, "stderr: \(result.stderr)")
            folders.append(try Self.files(out))
        }
        #expect(folders[0].keys.sorted() == ["config.json", "model.safetensors", "quantization.json", "tokenizer.json", "tokenizer_config.json"])
        for (run, folder) in folders.enumerated().dropFirst() {
            for name in folders[0].keys.sorted() {
                #expect(folder[name] == folders[0][name], "\(name) differs between run 0 and run \(run) (QUANTA_THREADS \(Self.threadCounts[run]))")
            }
        }
        // Evaluation numbers of the saved model are identical too.
        var evaluations: [NSDictionary] = []
        for threads in ["1", "2"] {
            let eval = try CommandLineTests.run(
                ["eval", directory + "/q0", "--text", text, "--seq-len", "128", "--windows", "3", "--json"],
                environment: ["QUANTA_THREADS": threads])
            #expect(eval.status == 0, "stderr: \(eval.stderr)")
            evaluations.append(try Self.withoutTimings(Data(eval.stdout.utf8)))
        }
        #expect(evaluations[0] == evaluations[1], "\(evaluations)")
        #expect(evaluations[0]["perplexity"] != nil)
    }

    @Test func analyzeSummariesAreIdenticalApartFromTimings() throws {
        let (model, text, directory) = try TinyModelFiles.modelAndCalibrationText()
        var summaries: [NSDictionary] = []
        for (run, threads) in Self.threadCounts.enumerated() {
            let out = directory + "/a\(run)"
            let result = try CommandLineTests.run(
                ["analyze", model, "--recipe", "w8a8-int8-static", "--calib", text, "--samples", "2", "--seq-len", "128",
                 "--input", text, "--tokens", "128", "--out", out],
                environment: ["QUANTA_THREADS": threads])
            #expect(result.status == 0, "stderr: \(result.stderr)")
            summaries.append(try Self.withoutTimings(try Data(contentsOf: URL(fileURLWithPath: out + "/summary.json"))))
            let layers = try Self.files(out + "/layers"), first = try Self.files(directory + "/a0/layers")
            #expect(!layers.isEmpty)
            #expect(layers == first, "per-layer statistics differ in run \(run)")
        }
        for (run, summary) in summaries.enumerated().dropFirst() {
            #expect(summary == summaries[0], "summary.json differs between run 0 and run \(run)")
        }
    }
}
