import Foundation
import Testing
import TestSupport

/// `quanta tune` on the tiny synthetic model, through the binary: a feasible budget is met and its recipe reproduces
/// the tuned model bit for bit; an infeasible one exits 3 naming the closest candidate; a second run reuses the
/// cache; bad budgets and globs are rejected before any work.
@Suite(.enabled(if: RealData.quantaExecutable != nil, "build the quanta executable first (swift build)"))
struct TuneCommandLineTests {
    static func tune(_ model: String, text: String, out: String, recipe: String = "w8a8-int8-static", budget: String,
                     extra: [String] = []) throws -> CommandLineTests.Outcome {
        try CommandLineTests.run([
            "tune", model, "--recipe", recipe, "--calib", text, "--samples", "2", "--seq-len", "16", "--eval", text,
            "--eval-seq-len", "16", "--windows", "6", "--screen-windows", "2", "--budget", budget, "--out", out, "--json",
        ] + extra)
    }

    static func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    static func baseKL(_ model: String, text: String, directory: String) throws -> Double {
        // The recipe's own KL on the full evaluation: a budget at a fraction of it needs layers raised.
        let q = try CommandLineTests.run([
            "quantize", model, "--recipe", "w8a8-int8-static", "--calib", text, "--samples", "2", "--seq-len", "16",
            "--out", directory + "/base"])
        #expect(q.status == 0, "\(q.stderr)")
        let e = try CommandLineTests.run([
            "eval", directory + "/base", "--text", text, "--seq-len", "16", "--windows", "6", "--reference", model, "--json"])
        #expect(e.status == 0, "\(e.stderr)")
        return try #require(try Self.json(e.stdout)["kl_divergence"] as? Double)
    }

    @Test func aFeasibleBudgetIsMetAndItsRecipeReproducesTheModel() throws {
        let (model, text, directory) = try TinyModelFiles.modelAndCalibrationText()
        let kl = try Self.baseKL(model, text: text, directory: directory)
        let budget = String(format: "kl<=%.6g", kl / 4)
        let out = directory + "/tuned"
        let outcome = try Self.tune(model, text: text, out: out, budget: budget)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let report = try Self.json(outcome.stdout)
        #expect(report["meets_budget"] as? Bool == true)
        let tunedKL = try #require(report["kl_divergence"] as? Double)
        #expect(tunedKL <= kl / 4)
        let changed = (report["float_layers"] as? [String] ?? []).count + (report["raised_layers"] as? [String] ?? []).count
        #expect(changed >= 1, "a budget at a quarter of the recipe's KL needs at least one layer changed")
        let steps = try #require(report["steps"] as? [[String: Any]])
        #expect(steps.contains { $0["phase"] as? String == "final" && $0["meets_budget"] as? Bool == true })
        for file in ["model/model.safetensors", "recipe.yaml", "tune-log.json", "tune-cache.json", "report/index.html", "report/plots/tuning.svg"] {
            #expect(FileManager.default.fileExists(atPath: out + "/" + file), "\(file) missing")
        }
        let html = try String(contentsOfFile: out + "/report/index.html", encoding: .utf8)
        #expect(html.contains("id=\"chart-tuning\"") && html.contains("class=\"chosen\""))

        // The written recipe, quantized again, gives the same weights and scales, bit for bit.
        let again = try CommandLineTests.run(["quantize", model, "--recipe", out + "/recipe.yaml", "--out", directory + "/again"])
        #expect(again.status == 0, "\(again.stderr)")
        let tuned = try Data(contentsOf: URL(fileURLWithPath: out + "/model/model.safetensors"))
        let requantized = try Data(contentsOf: URL(fileURLWithPath: directory + "/again/model.safetensors"))
        #expect(tuned == requantized)

        // Another budget into the same folder reuses the ranking and the evaluations already made.
        let second = try Self.tune(model, text: text, out: out, budget: String(format: "kl<=%.6g", kl / 2))
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stderr.contains("reused the measured ranking"), "\(second.stderr)")
        let secondSteps = try #require(try Self.json(second.stdout)["steps"] as? [[String: Any]])
        #expect(secondSteps.contains { $0["cached"] as? Bool == true })
    }

    @Test func anInfeasibleBudgetExitsThreeNamingTheClosestCandidate() throws {
        let (model, text, directory) = try TinyModelFiles.modelAndCalibrationText()
        // An int8 KV cache stays quantized whatever layers are rolled back, so a near-zero KL cannot be reached.
        let recipe = directory + "/kv.json"
        try #"{"name": "w8-kv8", "weight": {"dtype": "int8"}, "input": {"dtype": "int8"}, "kv_cache": {"dtype": "int8"}}"#
            .write(toFile: recipe, atomically: true, encoding: .utf8)
        let out = directory + "/miss"
        let outcome = try Self.tune(model, text: text, out: out, recipe: recipe, budget: "kl<=1e-12", extra: ["--max-evals", "2", "--rank", "range"])
        #expect(outcome.status == 3, "\(outcome.stderr)")
        #expect(outcome.stderr.contains("error: no candidate meets kl<=1e-12; the closest was"), "\(outcome.stderr)")
        let log = try Self.json(try String(contentsOfFile: out + "/tune-log.json", encoding: .utf8))
        #expect(log["meets_budget"] as? Bool == false)
        #expect(!FileManager.default.fileExists(atPath: out + "/model"))
    }

    @Test func badBudgetsAndGlobsAreRejectedBeforeAnyWork() throws {
        let (model, text, directory) = try TinyModelFiles.modelAndCalibrationText()
        let out = directory + "/bad"
        for (budget, fragment) in [
            ("ppl<=+abc", "'abc' is not a number"), ("kl<=-0.1", "must not be negative"), ("acc<=1", "task accuracy is bounded from below"), ("bleu<=1", "unknown metric 'bleu'"),
            ("ppl<=1%", "an increase over float"), ("ppl", "expected METRIC<=BOUND"), ("acc>=2%", "a drop below float"),
            ("kl>=0.1", "kl is bounded from above"),
        ] {
            let outcome = try Self.tune(model, text: text, out: out, budget: budget)
            #expect(outcome.status == 64, "\(budget): \(outcome.stderr)")
            #expect(outcome.stderr.contains(fragment), "\(budget): \(outcome.stderr)")
        }
        try CommandLineTests.expectOneErrorLine(
            ["tune", model, "--recipe", "w8a8-int8-static", "--calib", text, "--eval", text, "--budget", "kl<=0.1",
             "--keep-float", "*.nothing", "--out", out], mentioning: "--keep-float '*.nothing' matches no linear layer")
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    @Test func aTaskAccuracyBudgetScoresTheItems() throws {
        let (model, text, directory) = try TinyModelFiles.modelAndCalibrationText()
        let items = directory + "/items.jsonl"
        let lines = (0..<12).map { i in
            #"{"context": "the theme in the", "choices": [" text", " thing", " other"], "answer": \#(i % 3)}"#
        }
        try lines.joined(separator: "\n").write(toFile: items, atomically: true, encoding: .utf8)
        let outcome = try CommandLineTests.run([
            "tune", model, "--recipe", "w8a8-int8-static", "--calib", text, "--samples", "2", "--seq-len", "16",
            "--task", items, "--screen-items", "6", "--budget", "acc>=-100%", "--out", directory + "/acc", "--json",
        ])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let report = try Self.json(outcome.stdout)
        #expect(report["meets_budget"] as? Bool == true)
        #expect(report["accuracy"] is Double && report["float_accuracy"] is Double)
        #expect(report["perplexity"] == nil)
        let steps = try #require(report["steps"] as? [[String: Any]])
        #expect(steps.first.flatMap { ($0["metrics"] as? [String: Any])?["windows"] as? Int } == 6)

        try CommandLineTests.expectUsageError(
            ["tune", model, "--recipe", "w8a8-int8-static", "--eval", text, "--budget", "acc>=-2%", "--out", directory + "/x"],
            message: "--budget acc>=-2% is on task accuracy: give --task FILE.jsonl")
        try CommandLineTests.expectUsageError(
            ["tune", model, "--recipe", "w8a8-int8-static", "--task", items, "--budget", "ppl<=+1%", "--out", directory + "/x"],
            message: "--budget ppl<=+1% is measured on a text: give --eval FILE")
    }
}
