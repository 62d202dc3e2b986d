import Foundation
import Testing
import TestSupport

/// `--keep-float`, `--override` and `--rollback N --rank` on `quanta quantize` and `analyze`, through the binary.
@Suite(.enabled(if: RealData.quantaExecutable != nil, "build the quanta executable first (swift build)"))
struct LayerChoiceCommandLineTests {
    static func layers(_ folder: String) throws -> (recipe: [String: Any], layers: [String: [String: Any]]) {
        let data = try Data(contentsOf: URL(fileURLWithPath: folder + "/quantization.json"))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        return (try #require(json["recipe"] as? [String: Any]), try #require(json["layers"] as? [String: [String: Any]]))
    }

    @Test func keepFloatAndOverrideComposeAndAreSaved() throws {
        let (model, text, directory) = try TinyModelFiles.modelAndCalibrationText()
        let out = directory + "/q"
        let outcome = try CommandLineTests.run([
            "quantize", model, "--recipe", "w8a8-int8-static", "--calib", text, "--samples", "2", "--seq-len", "16",
            "--keep-float", "*.mlp.down_proj", "--override", "*.self_attn.o_proj=w4a16-g32", "--out", out,
        ])
        #expect(outcome.status == 0, "stderr: \(outcome.stderr)")
        let (recipe, layers) = try Self.layers(out)
        #expect((recipe["overrides"] as? [Any])?.count == 2)
        for (name, layer) in layers {
            let weight = layer["weight"] as? [String: Any], scheme = weight?["scheme"] as? [String: Any]
            if name.hasSuffix("mlp.down_proj") || name == "lm_head" {
                #expect(weight == nil, "\(name) should stay in float")
            } else if name.hasSuffix("self_attn.o_proj") {
                #expect(scheme?["dtype"] as? String == "uint4" && scheme?["group_size"] as? Int == 32, "\(name): \(layer)")
            } else {
                #expect(scheme?["dtype"] as? String == "int8", "\(name): \(layer)")
            }
        }
        // The override's inputs stay in float (w4a16 quantizes none); other layers keep their static input scales.
        let saved = try String(contentsOfFile: out + "/quantization.json", encoding: .utf8)
        #expect(saved.contains("\"model.layers.0.self_attn.q_proj.input\""))
        #expect(!saved.contains("\"model.layers.0.self_attn.o_proj.input\""))
        #expect(!saved.contains("\"model.layers.0.mlp.down_proj.input\""))
    }

    @Test func rollbackKeepsTheMostSensitiveLayersInFloatAndPrintsThem() throws {
        let (model, text, directory) = try TinyModelFiles.modelAndCalibrationText()
        for rank in ["range", "measured"] {
            let out = directory + "/r-" + rank
            let outcome = try CommandLineTests.run([
                "quantize", model, "--recipe", "w8a8-int8-static", "--calib", text, "--samples", "2", "--seq-len", "16",
                "--rollback", "3", "--rank", rank, "--out", out,
            ])
            #expect(outcome.status == 0, "stderr: \(outcome.stderr)")
            let lines = outcome.stderr.split(separator: "\n").filter { $0.hasPrefix("rollback ") }
            #expect(lines.count == 3, "\(outcome.stderr)")
            let (_, layers) = try Self.layers(out)
            let floats = layers.filter { $0.value["weight"] == nil }.map(\.key)
            // lm_head is excluded by the recipe; the three rolled-back layers join it and are the ones printed.
            #expect(floats.count == 4)
            for line in lines {
                let name = line.split(separator: " ")[2]
                #expect(floats.contains(String(name)), "\(line) not in \(floats)")
            }
            // Scores are printed in descending order.
            let scores = lines.compactMap { line in Double(line.split(separator: " ").last!.dropLast()) }
            #expect(scores == scores.sorted(by: >), "\(lines)")
        }
    }

    @Test func badChoicesAreRejectedNamingTheFlag() throws {
        let (model, text, directory) = try TinyModelFiles.modelAndCalibrationText()
        let base = ["quantize", model, "--recipe", "w8a8-int8-static", "--calib", text, "--samples", "2", "--seq-len", "16"]
        let out = ["--out", directory + "/bad"]
        try CommandLineTests.expectOneErrorLine(base + ["--keep-float", "*.mlp.dwn_proj"] + out, mentioning: "--keep-float '*.mlp.dwn_proj' matches no linear layer")
        try CommandLineTests.expectOneErrorLine(base + ["--override", "*.nothing=w8a16"] + out, mentioning: "matches no linear layer")
        try CommandLineTests.expectOneErrorLine(base + ["--override", "*.mlp.down_proj=w9"] + out, mentioning: "unknown preset 'w9'")
        try CommandLineTests.expectUsageError(base + ["--override", "*.mlp.down_proj"] + out, message: "--override takes GLOB=PRESET_OR_FILE (e.g. '*.mlp.down_proj=w8a16'), got '*.mlp.down_proj'")
        try CommandLineTests.expectUsageError(base + ["--rollback", "0"] + out, message: "--rollback must be >= 1, got 0")
        try CommandLineTests.expectUsageError(base + ["--rank", "measured"] + out, message: "--rank orders the layers of --rollback N; give --rollback")
        try CommandLineTests.expectOneErrorLine(base + ["--rollback", "500"] + out, mentioning: "--rollback 500: cannot roll back more layers than the recipe quantizes (14)")
        #expect(!FileManager.default.fileExists(atPath: directory + "/bad"))
    }
}

/// `quanta recipes --show NAME` prints a preset as the recipe file it is equivalent to; `--json` lists them all.
@Suite(.enabled(if: RealData.quantaExecutable != nil, "build the quanta executable first (swift build)"))
struct RecipesCommandLineTests {
    @Test func showPrintsAFileThatQuantizesLikeThePreset() throws {
        let (model, text, directory) = try TinyModelFiles.modelAndCalibrationText()
        let shown = try CommandLineTests.run(["recipes", "--show", "w8a8-int8-static"])
        #expect(shown.status == 0, "\(shown.stderr)")
        #expect(shown.stdout.contains("name: w8a8-int8-static"), "\(shown.stdout)")
        let file = directory + "/preset.yaml"
        try shown.stdout.write(toFile: file, atomically: true, encoding: .utf8)
        let common = ["--calib", text, "--samples", "2", "--seq-len", "16"]
        for (recipe, out) in [("w8a8-int8-static", "/a"), (file, "/b")] {
            let q = try CommandLineTests.run(["quantize", model, "--recipe", recipe] + common + ["--out", directory + out])
            #expect(q.status == 0, "\(q.stderr)")
        }
        let a = try Data(contentsOf: URL(fileURLWithPath: directory + "/a/model.safetensors"))
        let b = try Data(contentsOf: URL(fileURLWithPath: directory + "/b/model.safetensors"))
        #expect(a == b)
        try CommandLineTests.expectOneErrorLine(["recipes", "--show", "w9"], mentioning: "unknown preset 'w9'")
    }

    @Test func jsonListsEveryPresetWithItsRecipe() throws {
        let outcome = try CommandLineTests.run(["recipes", "--json"])
        #expect(outcome.status == 0)
        let list = try #require(try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [[String: Any]])
        #expect(list.count >= 10)
        #expect(list.allSatisfy { $0["name"] is String && $0["summary"] is String && $0["recipe"] is [String: Any] })
    }
}
