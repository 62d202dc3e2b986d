import Foundation
import ModelFormats

/// What `quanta tune` keeps in its output folder between runs, so a second run (another budget) reuses the measured
/// sensitivity and every evaluation already made: rankings by (model, base recipe, ranking), results by (model,
/// candidate recipe, evaluation windows).
public struct TuneCache: Codable, Sendable {
    public static let fileName = "tune-cache.json"
    static let currentVersion = 1

    /// A candidate's measured accuracy and size.
    public struct Result: Codable, Sendable, Equatable {
        public var metrics: TuneMetrics
        public var bitsPerWeight: Double
        enum CodingKeys: String, CodingKey {
            case metrics
            case bitsPerWeight = "bits_per_weight"
        }
    }

    var version = Self.currentVersion
    var rankings: [String: [LayerRollback.RankedLayer]] = [:]
    var results: [String: Result] = [:]

    public init() {}

    /// The cache in `directory`, or an empty one when there is none. A file this version cannot read (another version,
    /// damaged) is reported through `warn` and ignored: it only saves time.
    public static func load(from directory: String, warn: (String) -> Void) -> TuneCache {
        let path = directory + "/" + fileName
        guard let data = FileManager.default.contents(atPath: path) else { return TuneCache() }
        guard let cache = try? JSONDecoder().decode(TuneCache.self, from: data), cache.version == currentVersion else {
            warn("ignoring \(path): not a tuning cache this version reads; measuring again")
            return TuneCache()
        }
        return cache
    }

    /// Writes the cache into `directory` (created if needed) under a temporary name, then renames it.
    public func save(to directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try AtomicFile.write(try encoder.encode(self), to: directory + "/" + Self.fileName)
    }
}
