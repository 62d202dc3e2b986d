import Foundation
import Testing
import TestSupport

/// `quanta eval --task`: the JSON report field by field, flag combinations, and bad task files as one error line.
extension CommandLineTests {
    static func writeTaskFile(_ lines: [String], in directory: String, name: String = "task.jsonl") throws -> String {
        let path = directory + "/" + name
        try (lines.joined(separator: "\n") + (lines.isEmpty ? "" : "\n")).write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static let taskLines = [
        #"{"context": "the theme in", "choices": [" the", " text", " other"], "answer": 1}"#,
        #"{"context": "then the other ", "choices": ["thing", "theme"], "answer": 0}"#,
        #"{"title": "Theme", "passage": "The theme is in the text.", "question": "is the theme in the text", "answer": true}"#,
        #"{"context": "", "choices": ["the", "in"], "answer": 0}"#,
    ]

    @Test func evalTaskPrintsJSONWithTheDocumentedKeys() throws {
        let (model, _, directory) = try TinyModelFiles.modelAndCalibrationText()
        let task = try Self.writeTaskFile(Self.taskLines, in: directory)
        let outcome = try Self.run(["eval", model, "--task", task, "--reference", model, "--json"])
        #expect(outcome.status == 0, "stderr: \(outcome.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any])
        #expect(object["items"] as? Int == 4)
        #expect(object["task"] as? String == task)
        #expect(object["truncated_items"] as? Int == 0)
        #expect(object["context_length"] as? Int == 256)
        #expect((object["chosen"] as? [Int])?.count == 4)
        #expect((object["chosen_norm"] as? [Int])?.count == 4)
        let accuracy = try #require(object["accuracy"] as? Double)
        let correct = try #require(object["correct"] as? Int)
        #expect(accuracy == Double(correct) / 4)
        let interval = try #require(object["interval"] as? [String: Double])
        #expect(interval["level"] == 0.95 && interval["lower"]! <= accuracy && accuracy <= interval["upper"]!)
        #expect(object["accuracy_norm"] is Double && object["interval_norm"] is [String: Double])
        #expect((object["items_per_second"] as? Double).map { $0 > 0 } == true)
        // The model is its own reference: the same numbers, every answer agreeing.
        let reference = try #require(object["reference"] as? [String: Any])
        #expect(reference["accuracy"] as? Double == accuracy)
        #expect(reference["chosen"] as? [Int] == object["chosen"] as? [Int])
        #expect(object["agreement"] as? Double == 1)
        #expect(object["reference_model"] as? String == model)

        let limited = try Self.run(["eval", model, "--task", task, "--limit", "2", "--json"])
        let limitedObject = try #require(try JSONSerialization.jsonObject(with: Data(limited.stdout.utf8)) as? [String: Any])
        #expect(limitedObject["items"] as? Int == 2)
        #expect(limitedObject["agreement"] == nil && limitedObject["reference"] == nil)

        let text = try Self.run(["eval", model, "--task", task])
        #expect(text.status == 0)
        #expect(text.stdout.contains("acc:") && text.stdout.contains("Wilson") && text.stdout.contains("items/s"), "\(text.stdout)")
    }

    @Test func evalTaskFlagCombinationsAreUsageErrors() throws {
        let (model, text, directory) = try TinyModelFiles.modelAndCalibrationText()
        let task = try Self.writeTaskFile(Self.taskLines, in: directory)
        try Self.expectUsageError(["eval", model, "--text", text, "--task", task],
                                  message: "--text and --task are mutually exclusive: pass one of them")
        try Self.expectUsageError(["eval", model],
                                  message: "pass --text FILE (perplexity) or --task FILE (multiple-choice accuracy)")
        try Self.expectUsageError(["eval", model, "--task", task, "--seq-len", "16"], message: "--seq-len applies to --text, not --task")
        try Self.expectUsageError(["eval", model, "--task", task, "--windows", "2"], message: "--windows applies to --text, not --task")
        try Self.expectUsageError(["eval", model, "--text", text, "--limit", "2"], message: "--limit applies to --task, not --text")
        try Self.expectUsageError(["eval", model, "--task", task, "--limit", "0"], message: "--limit must be >= 1, got 0")
    }

    @Test func badTaskFilesFailWithOneLineNamingFileAndLine() throws {
        let (model, _, directory) = try TinyModelFiles.modelAndCalibrationText()
        let missingAnswer = try Self.writeTaskFile(
            [Self.taskLines[0], #"{"context": "a", "choices": ["b", "c"]}"#], in: directory, name: "bad.jsonl")
        try Self.expectOneErrorLine(["eval", model, "--task", missingAnswer], mentioning: "bad.jsonl:2: missing field 'answer'")
        let empty = try Self.writeTaskFile([], in: directory, name: "empty.jsonl")
        try Self.expectOneErrorLine(["eval", model, "--task", empty], mentioning: "empty.jsonl: the task file holds no items")
        try Self.expectOneErrorLine(["eval", model, "--task", directory + "/absent.jsonl"], mentioning: "absent.jsonl: cannot read")
    }
}
