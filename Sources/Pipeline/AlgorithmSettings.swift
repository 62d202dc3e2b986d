import Foundation
import QuantCore

/// Turns a recipe's algorithm settings into that algorithm's `Configuration`.
enum AlgorithmSettings {
    /// Decodes `step.settings` as `Configuration`, whose defaults fill what the recipe leaves out.
    /// - Throws: `QuantError.invalidConfiguration` for a key the configuration does not have (naming the allowed
    ///   ones) or a value it rejects.
    static func decode<Configuration: Codable>(_ step: QuantRecipe.AlgorithmStep, defaults: Configuration) throws -> Configuration {
        let allowed = try keys(of: defaults)
        for key in step.settings.keys.sorted() where !allowed.contains(key) {
            throw QuantError.invalidConfiguration(
                field: "algorithms.\(step.name).\(key)", reason: "unknown setting; allowed: \(allowed.sorted().joined(separator: ", "))")
        }
        let data = try JSONEncoder().encode(step.settings)
        do {
            return try JSONDecoder().decode(Configuration.self, from: data)
        } catch let error as QuantError {
            throw error
        } catch {
            throw QuantError.invalidConfiguration(field: "algorithms.\(step.name)", reason: "bad settings: \(error)")
        }
    }

    /// The top-level keys a configuration encodes to.
    static func keys<Configuration: Encodable>(of configuration: Configuration) throws -> Set<String> {
        let object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(configuration))
        return Set((object as? [String: Any])?.keys.map { $0 } ?? [])
    }
}
