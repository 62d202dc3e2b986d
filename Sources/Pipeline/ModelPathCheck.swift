import Foundation

/// Catches a model path that names a file from inside a Hugging Face folder instead of the folder, before a loader
/// misreads it (a safetensors file read as GGUF would fail with "bad magic").
public enum ModelPathCheck {
    /// Throws for a safetensors file (a `.safetensors` name, or safetensors' header: an 8-byte little-endian length,
    /// then `{`, in a file that does not start with GGUF's magic) or a `.json` file; does nothing for folders, other
    /// files and paths that do not exist (the loader reports those).
    /// - Throws: `PipelineError.unrecognizedModel` saying what the file is and which folder to pass instead.
    public static func rejectFileInsideModelFolder(_ path: String) throws(PipelineError) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else { return }
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        let lowered = path.lowercased()
        if lowered.hasSuffix(".safetensors") || looksLikeSafetensors(path) {
            throw .unrecognizedModel(path: path, reason: "a safetensors file; pass the folder that holds config.json (\(folder))")
        }
        if lowered.hasSuffix(".json") {
            throw .unrecognizedModel(path: path, reason: "a JSON file; pass the folder that holds config.json (\(folder))")
        }
    }

    /// Whether the file's first 9 bytes are safetensors' header start and not GGUF's magic.
    static func looksLikeSafetensors(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        guard let head = try? handle.read(upToCount: 9), head.count == 9 else { return false }
        return !head.starts(with: Array("GGUF".utf8)) && head.last == UInt8(ascii: "{")
    }
}
