import Foundation

/// Where the real model and text live for the tests that use them (fetched by scripts/fetch-models.sh; the text
/// sits in ../shared/data beside the repository). Tests check `isAvailable` and skip with a message otherwise.
public enum RealData {
    /// The repository root, from this file's location.
    public static let repositoryRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }  // Sources/TestSupport/RealData.swift
        return url.path
    }()

    /// The model cache: $QUANTA_CACHE or ~/.cache/quanta.
    public static var cache: String {
        ProcessInfo.processInfo.environment["QUANTA_CACHE"] ?? (NSHomeDirectory() + "/.cache/quanta")
    }

    /// SmolLM2-135M-Instruct Q4_1 GGUF.
    public static var smolLM2: String { cache + "/models/SmolLM2-135M-Instruct.Q4_1.gguf" }

    /// wikitext-2 test split (raw).
    public static var wikiTest: String { repositoryRoot + "/../shared/data/wikitext-2/wiki.test.raw" }

    /// wikitext-2 validation split (tokens), for calibration.
    public static var wikiValid: String { repositoryRoot + "/../shared/data/wikitext-2/wiki.valid.tokens" }

    /// Whether every path exists.
    public static func exists(_ paths: String...) -> Bool {
        paths.allSatisfy { FileManager.default.fileExists(atPath: $0) }
    }

    /// The built `quanta` executable next to the test bundle, when present.
    public static var quantaExecutable: String? {
        #if DEBUG
        let candidates = [".build/debug/quanta", ".build/release/quanta"].map { repositoryRoot + "/" + $0 }
        #else
        let candidates = [".build/release/quanta", ".build/debug/quanta"].map { repositoryRoot + "/" + $0 }
        #endif
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}
