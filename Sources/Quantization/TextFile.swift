import Foundation

/// Reads user text (evaluation or calibration files) as UTF-8, with errors that name the file.
///
/// Line ends are normalized as Python's text mode does (universal newlines: CRLF and lone CR become LF), so a file
/// tokenizes to the same ids as the PyTorch/transformers reference reads it (wikitext-2's test split has CRLF ends).
public enum TextFile {
    /// The whole file as a string.
    /// - Throws: `QuantizationError.unreadableText` when missing, unreadable, not UTF-8, or empty.
    public static func read(_ path: String) throws(QuantizationError) -> String {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw .unreadableText(path: path, reason: (error as NSError).localizedDescription)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw .unreadableText(path: path, reason: "not valid UTF-8")
        }
        guard !text.isEmpty else { throw .unreadableText(path: path, reason: "the file is empty") }
        return normalizingLineEnds(text)
    }

    /// Where `prefix` of a text ends, as 1-based line and column (columns in Unicode scalars, as libyaml counts
    /// them), for messages like `recipe.json:3:14: …`; a CRLF counts as one line end.
    public static func lineAndColumn(atEndOf prefix: some StringProtocol) -> (line: Int, column: Int) {
        var line = 1, column = 1
        for scalar in prefix.unicodeScalars {
            if scalar == "\n" {
                line += 1
                column = 1
            } else {
                column += 1
            }
        }
        return (line, column)
    }

    /// CRLF and lone CR become LF.
    public static func normalizingLineEnds(_ text: String) -> String {
        guard text.utf8.contains(13) else { return text }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var previousWasCR = false
        for byte in text.utf8 {
            if byte == 13 {
                bytes.append(10)
                previousWasCR = true
                continue
            }
            if !(byte == 10 && previousWasCR) { bytes.append(byte) }
            previousWasCR = false
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
