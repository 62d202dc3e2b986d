import Foundation

extension MultipleChoiceItem {
    /// Reads a task file: one JSON object per line (JSON Lines), each in one of two layouts, detected per line:
    /// - generic: `{"context": str, "choices": [str, ...], "answer": int}`;
    /// - msModelSlim's BoolQ: `{"title": str, "passage": str, "question": str, "answer": bool}` (see `boolQ`).
    ///
    /// Other keys are ignored. Blank lines are skipped; a UTF-8 byte-order mark and CRLF line ends are accepted.
    /// - Throws: `AnalysisError.unreadableTaskFile`, `.emptyTaskFile`, or `.malformedTaskLine` naming the file, the
    ///   1-based line and what is wrong with it (the first bad line; nothing is returned then).
    public static func load(contentsOf path: String) throws(AnalysisError) -> [MultipleChoiceItem] {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw .unreadableTaskFile(path: path, reason: (error as NSError).localizedDescription)
        }
        return try parseJSONLines(data, path: path)
    }

    /// Parses the bytes of a task file; `path` only names it in errors. See `load(contentsOf:)`.
    public static func parseJSONLines(_ data: Data, path: String) throws(AnalysisError) -> [MultipleChoiceItem] {
        var bytes = [UInt8](data)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        var items: [MultipleChoiceItem] = []
        for (index, rawLine) in bytes.split(separator: 10, omittingEmptySubsequences: false).enumerated() {
            let lineNumber = index + 1
            var line = rawLine
            if line.last == 13 { line = line.dropLast() }
            guard let text = String(validating: line, as: UTF8.self) else {
                let offset = firstInvalidUTF8Offset(line)
                throw .malformedTaskLine(
                    path: path, line: lineNumber, reason: "not valid UTF-8 (bad byte at column \(offset + 1))")
            }
            if text.allSatisfy(\.isWhitespace) { continue }
            do throws(LineProblem) {
                items.append(try parseLine(text))
            } catch {
                throw .malformedTaskLine(path: path, line: lineNumber, reason: error.message)
            }
        }
        guard !items.isEmpty else { throw .emptyTaskFile(path: path) }
        return items
    }

    /// What is wrong with one line.
    struct LineProblem: Error {
        let message: String
        init(_ message: String) { self.message = message }
    }

    /// One line's item, in whichever layout its keys name.
    static func parseLine(_ text: String) throws(LineProblem) -> MultipleChoiceItem {
        let value: JSONField
        do {
            value = try JSONDecoder().decode(JSONField.self, from: Data(text.utf8))
        } catch {
            throw LineProblem("not valid JSON: \(text.prefix(60))\(text.count > 60 ? "…" : "")")
        }
        guard case .object(let fields) = value else { throw LineProblem("expected a JSON object, found \(value.kind)") }
        func field(_ key: String) throws(LineProblem) -> JSONField {
            guard let value = fields[key] else { throw LineProblem("missing field '\(key)'") }
            return value
        }
        func string(_ key: String) throws(LineProblem) -> String {
            let value = try field(key)
            guard case .string(let s) = value else {
                throw LineProblem("'\(key)' must be a string, found \(value.kind)")
            }
            return s
        }
        let item: MultipleChoiceItem
        if fields["context"] != nil || fields["choices"] != nil {
            let choicesValue = try field("choices")
            guard case .array(let entries) = choicesValue else {
                throw LineProblem("'choices' must be an array of strings, found \(choicesValue.kind)")
            }
            var choices: [String] = []
            for (i, entry) in entries.enumerated() {
                guard case .string(let s) = entry else {
                    throw LineProblem("choice \(i) must be a string, found \(entry.kind)")
                }
                choices.append(s)
            }
            let answerValue = try field("answer")
            guard case .integer(let answer) = answerValue else {
                throw LineProblem("'answer' must be an integer index into 'choices', found \(answerValue.kind)")
            }
            item = MultipleChoiceItem(context: try string("context"), choices: choices, answer: answer)
        } else if fields["passage"] != nil || fields["question"] != nil || fields["title"] != nil {
            let answerValue = try field("answer")
            guard case .bool(let answer) = answerValue else {
                throw LineProblem("'answer' of a BoolQ item must be true or false, found \(answerValue.kind)")
            }
            item = boolQ(
                title: try string("title"), passage: try string("passage"), question: try string("question"),
                answer: answer)
        } else {
            throw LineProblem(
                "matches neither layout: expected 'context', 'choices', 'answer' or BoolQ's 'title', 'passage', 'question', 'answer'"
            )
        }
        if let problem = item.problem { throw LineProblem(problem) }
        return item
    }

    /// Index of the first byte of `bytes` that does not begin or continue a valid UTF-8 sequence.
    static func firstInvalidUTF8Offset(_ bytes: ArraySlice<UInt8>) -> Int {
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        var offset = 0
        while case .scalarValue(let scalar) = decoder.decode(&iterator) { offset += UTF8.width(scalar) }
        return offset
    }
}

/// A JSON value as far as the task layouts need to tell kinds apart (booleans from integers from other numbers).
enum JSONField: Decodable, Sendable {
    case null, bool(Bool), integer(Int), number(Double), string(String), array([JSONField]), object([String: JSONField])

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let i = try? c.decode(Int.self) {
            self = .integer(i)
        } else if let d = try? c.decode(Double.self) {
            self = .number(d)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let a = try? c.decode([JSONField].self) {
            self = .array(a)
        } else {
            self = .object(try c.decode([String: JSONField].self))
        }
    }

    /// The kind and, for scalars, the value, for messages.
    var kind: String {
        switch self {
        case .null: "null"
        case .bool(let b): "the boolean \(b)"
        case .integer(let i): "the integer \(i)"
        case .number(let d): "the number \(d)"
        case .string(let s): "a string (\"\(s.prefix(30))\")"
        case .array: "an array"
        case .object: "an object"
        }
    }
}
