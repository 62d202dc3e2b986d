import Analysis
import Foundation
import Testing

/// Task files: the two layouts, the BoolQ prompt, and one precise error per kind of bad line.
@Suite struct MultipleChoiceItemTests {
    static func parse(_ text: String) throws(AnalysisError) -> [MultipleChoiceItem] {
        try MultipleChoiceItem.parseJSONLines(Data(text.utf8), path: "t.jsonl")
    }

    static func expectLineError(_ text: String, line: Int, _ reason: String) {
        #expect(throws: AnalysisError.malformedTaskLine(path: "t.jsonl", line: line, reason: reason)) { try parse(text) }
    }

    @Test func boolQPromptIsMsModelSlimsExactly() {
        let item = MultipleChoiceItem.boolQ(title: "Ethanol fuel", passage: "All gasoline contains ethanol.",
                                            question: "does gasoline contain ethanol", answer: true)
        #expect(item.context == "Ethanol fuel -- All gasoline contains ethanol.\nQuestion:does gasoline contain ethanol?\nAnswer:")
        #expect(item.choices == [" yes", " no"])
        #expect(item.answer == 0)
        #expect(MultipleChoiceItem.boolQ(title: "t", passage: "p", question: "q", answer: false).answer == 1)
    }

    @Test func bothLayoutsAreDetectedPerLineAndBlankLinesSkipped() throws {
        let text = """
            {"context": "2 + 2 =", "choices": [" 4", " 5"], "answer": 0, "id": 7}

            {"title": "T", "passage": "P", "question": "q", "answer": false}\r
            """
        let items = try Self.parse("\u{FEFF}" + text + "\n")
        #expect(items == [
            MultipleChoiceItem(context: "2 + 2 =", choices: [" 4", " 5"], answer: 0),
            MultipleChoiceItem(context: "T -- P\nQuestion:q?\nAnswer:", choices: [" yes", " no"], answer: 1),
        ])
    }

    @Test func eachMalformedLineNamesTheLineAndTheProblem() {
        let good = #"{"context": "a", "choices": ["b", "c"], "answer": 1}"# + "\n"
        Self.expectLineError(good + #"{"choices": ["b", "c"], "answer": 1}"#, line: 2, "missing field 'context'")
        Self.expectLineError(good + good + #"{"context": "a", "choices": ["b", "c"]}"#, line: 3, "missing field 'answer'")
        Self.expectLineError(#"{"context": "a", "choices": ["b", "c"], "answer": 2}"#, line: 1,
                             "'answer' 2 is out of range for 2 choices (0...1)")
        Self.expectLineError(#"{"context": "a", "choices": ["b", "c"], "answer": -1}"#, line: 1,
                             "'answer' -1 is out of range for 2 choices (0...1)")
        Self.expectLineError(#"{"context": "a", "choices": [], "answer": 0}"#, line: 1,
                             "'choices' is empty; an item needs at least 2 choices")
        Self.expectLineError(#"{"context": "a", "choices": ["b"], "answer": 0}"#, line: 1,
                             "'choices' has 1 entry; an item needs at least 2 choices")
        Self.expectLineError(#"{"context": "a", "choices": ["b", ""], "answer": 0}"#, line: 1, "choice 1 is an empty string")
        Self.expectLineError(#"{"context": "a", "choices": ["b", 3], "answer": 0}"#, line: 1,
                             "choice 1 must be a string, found the integer 3")
        Self.expectLineError(#"{"context": "a", "choices": "b", "answer": 0}"#, line: 1,
                             #"'choices' must be an array of strings, found a string ("b")"#)
        Self.expectLineError(#"{"context": "a", "choices": ["b", "c"], "answer": true}"#, line: 1,
                             "'answer' must be an integer index into 'choices', found the boolean true")
        Self.expectLineError(#"{"context": "a", "choices": ["b", "c"], "answer": 0.5}"#, line: 1,
                             "'answer' must be an integer index into 'choices', found the number 0.5")
        Self.expectLineError(#"{"title": "t", "passage": "p", "question": "q", "answer": 1}"#, line: 1,
                             "'answer' of a BoolQ item must be true or false, found the integer 1")
        Self.expectLineError(#"{"passage": "p", "question": "q", "answer": true}"#, line: 1, "missing field 'title'")
        Self.expectLineError(#"{"question": "q", "answer": true, "passage": 5, "title": "t"}"#, line: 1,
                             "'passage' must be a string, found the integer 5")
        Self.expectLineError(#"{"text": "a", "label": 0}"#, line: 1,
                             "matches neither layout: expected 'context', 'choices', 'answer' or BoolQ's 'title', 'passage', 'question', 'answer'")
        Self.expectLineError(#"["a", "b"]"#, line: 1, "expected a JSON object, found an array")
        Self.expectLineError(good + #"{"context": "a", "choices": ["#, line: 2, #"not valid JSON: {"context": "a", "choices": ["#)
    }

    @Test func aNonUTF8LineNamesTheColumnOfTheBadByte() {
        var data = Data(#"{"context": "a", "choices": ["b", "c"], "answer": 1}"#.utf8 + [10])
        data += Data(#"{"context": "caf"#.utf8) + Data([0xC3, 0x28]) + Data(#"", "choices": ["b", "c"], "answer": 1}"#.utf8)
        #expect(throws: AnalysisError.malformedTaskLine(path: "t.jsonl", line: 2, reason: "not valid UTF-8 (bad byte at column 17)")) {
            try MultipleChoiceItem.parseJSONLines(data, path: "t.jsonl")
        }
    }

    @Test func anEmptyOrBlankFileIsAnError() {
        #expect(throws: AnalysisError.emptyTaskFile(path: "t.jsonl")) { try Self.parse("") }
        #expect(throws: AnalysisError.emptyTaskFile(path: "t.jsonl")) { try Self.parse("\n  \n\r\n") }
    }

    @Test func aMissingFileIsNamed() {
        #expect {
            try MultipleChoiceItem.load(contentsOf: "/nonexistent/tasks.jsonl")
        } throws: { error in
            guard case .unreadableTaskFile(let path, _) = error as? AnalysisError else { return false }
            return path == "/nonexistent/tasks.jsonl"
        }
    }

    /// Brown, Cai & DasGupta's Wilson interval; values from its closed form evaluated by hand (Python, double).
    @Test(arguments: [
        (7, 10, 0.3967781475, 0.8922087326), (0, 10, 0.0, 0.2775327999), (10, 10, 0.7224672001, 1.0),
        (50, 100, 0.4038315304, 0.5961684696), (1, 1, 0.2065493144, 1.0),
    ])
    func wilsonIntervalMatchesHandComputedValues(successes: Int, trials: Int, lower: Double, upper: Double) {
        let interval = ConfidenceInterval.wilson(successes: successes, trials: trials)
        #expect(abs(interval.lower - lower) < 1e-9 && abs(interval.upper - upper) < 1e-9, "\(interval) vs [\(lower), \(upper)]")
        #expect(interval.level == 0.95)
    }
}
