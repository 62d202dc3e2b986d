import Foundation

/// Reads user text (evaluation or calibration files) as UTF-8, with errors that name the file.
public enum TextFile {
    /// The whole file as a string.
    /// - Throws: `PipelineError.unreadableText` when missing, unreadable, not UTF-8, or empty.
    public static func read(_ path: String) throws(PipelineError) -> String {
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
        return text
    }
}
