import Foundation

/// The text of a calibration file: a UTF-8 text file, or JSON Lines (`.jsonl`: one object per line with a string
/// field `text`, as Hugging Face datasets export them), whose texts are joined with blank lines between them.
public enum CalibrationText {
    /// - Throws: `QuantizationError.unreadableText` for an unreadable, non-UTF-8 or empty file, or a JSONL line that is
    ///   not an object with a string `text` (naming the line).
    public static func read(_ path: String) throws(QuantizationError) -> String {
        let text = try TextFile.read(path)
        guard path.lowercased().hasSuffix(".jsonl") else { return text }
        var texts: [String] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !trimmed.isEmpty else { continue }
            let object = try? JSONSerialization.jsonObject(with: Data(trimmed.utf8)) as? [String: Any]
            guard let value = object?["text"] as? String else {
                throw .unreadableText(
                    path: "\(path):\(index + 1)", reason: "expected a JSON object with a string field \"text\"")
            }
            texts.append(value)
        }
        guard texts.contains(where: { !$0.isEmpty }) else { throw .unreadableText(path: path, reason: "no line has any text") }
        return texts.joined(separator: "\n\n")
    }
}
