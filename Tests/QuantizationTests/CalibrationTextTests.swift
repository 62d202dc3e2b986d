import Foundation
import Quantization
import Testing

/// `--calib` takes JSON Lines (`{"text": ...}` per line) as well as plain text.
@Suite struct CalibrationTextTests {
    static func write(_ text: String, name: String) throws -> String {
        let directory = NSTemporaryDirectory() + "calib-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func jsonLinesTextsAreJoinedAndPlainTextIsReadAsIs() throws {
        let jsonl = try Self.write(#"{"text": "first sample", "id": 1}"# + "\n\n" + #"{"text": "second\nsample"}"# + "\n", name: "c.jsonl")
        #expect(try CalibrationText.read(jsonl) == "first sample\n\nsecond\nsample")
        let plain = try Self.write(#"{"text": "not parsed"}"#, name: "c.txt")
        #expect(try CalibrationText.read(plain) == #"{"text": "not parsed"}"#)
    }

    @Test func aBadLineIsNamed() throws {
        let bad = try Self.write(#"{"text": "ok"}"# + "\n" + #"{"content": "no text field"}"#, name: "b.jsonl")
        #expect(throws: QuantizationError.unreadableText(path: bad + ":2", reason: "expected a JSON object with a string field \"text\"")) {
            try CalibrationText.read(bad)
        }
        let empty = try Self.write(#"{"text": ""}"#, name: "e.jsonl")
        #expect(throws: QuantizationError.unreadableText(path: empty, reason: "no line has any text")) {
            try CalibrationText.read(empty)
        }
    }
}
