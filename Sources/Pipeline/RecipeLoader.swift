import Foundation
import QuantCore
import Quantization
import Yams

/// Finds a recipe by preset name or reads it from a JSON or YAML file.
public enum RecipeLoader {
    /// A preset (`w8a16`), or a recipe file: `.json` is JSON, `.yaml` and `.yml` are YAML, and any other existing
    /// file that is not a preset's name is JSON when its first non-blank character is `{`, YAML otherwise.
    /// - Throws: `QuantError.invalidConfiguration` naming the field for an impossible recipe, or the unknown preset;
    ///   `PipelineError.invalidArgument` for an unreadable file, or a syntax error as `FILE:LINE:COLUMN: YAML syntax
    ///   error: …` (or `JSON syntax error`).
    public static func load(_ nameOrPath: String) throws -> QuantRecipe {
        let lowered = nameOrPath.lowercased()
        let isYAMLName = lowered.hasSuffix(".yaml") || lowered.hasSuffix(".yml")
        var isDirectory: ObjCBool = false
        let isOtherFile =
            FileManager.default.fileExists(atPath: nameOrPath, isDirectory: &isDirectory) && !isDirectory.boolValue
            && !QuantRecipe.presetDescriptions.contains { $0.name == nameOrPath }
        guard lowered.hasSuffix(".json") || isYAMLName || isOtherFile else {
            return try QuantRecipe.preset(nameOrPath)
        }
        guard let data = FileManager.default.contents(atPath: nameOrPath) else {
            throw PipelineError.invalidArgument("cannot read recipe file \(nameOrPath)")
        }
        let isJSON =
            lowered.hasSuffix(".json") || (!isYAMLName && data.first { !Self.blankBytes.contains($0) } == UInt8(ascii: "{"))
        if !isJSON, let text = String(data: data, encoding: .utf8) { try checkBaseSixtyIntegers(text, path: nameOrPath) }
        do {
            if isJSON { return try JSONDecoder().decode(QuantRecipe.self, from: data) }
            return try YAMLDecoder().decode(QuantRecipe.self, from: data)
        } catch let error as QuantError {
            throw error
        } catch let DecodingError.dataCorrupted(context) where context.underlyingError is QuantError {
            // Yams wraps errors thrown while decoding; surface the recipe's own message.
            throw context.underlyingError!
        } catch let DecodingError.dataCorrupted(context) where context.underlyingError is YamlError {
            throw PipelineError.invalidArgument(yamlSyntaxError(context.underlyingError as! YamlError, path: nameOrPath))
        } catch let DecodingError.dataCorrupted(context) where isJSON && context.codingPath.isEmpty {
            throw PipelineError.invalidArgument(jsonSyntaxError(data, path: nameOrPath) ?? "\(nameOrPath): \(context.debugDescription)")
        } catch {
            throw PipelineError.invalidArgument("\(nameOrPath): \(describe(error))")
        }
    }

    /// `recipe` as the YAML file `load` reads back into an equal recipe.
    public static func yaml(_ recipe: QuantRecipe) throws -> String {
        try YAMLEncoder().encode(recipe)
    }

    /// Space, tab, CR, LF and a UTF-8 byte-order mark's bytes: what may come before a JSON file's `{`.
    static let blankBytes: Set<UInt8> = [0x20, 0x09, 0x0D, 0x0A, 0xEF, 0xBB, 0xBF]

    /// `path:line:column: YAML syntax error: problem (context at line:column)`, from libyaml's marks (1-based,
    /// columns in Unicode scalars).
    static func yamlSyntaxError(_ error: YamlError, path: String) -> String {
        switch error {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _),
            let .composer(context, problem, mark, _):
            let during = context.map { " (\($0.text) at \($0.mark.line):\($0.mark.column))" } ?? ""
            return "\(path):\(mark.line):\(mark.column): YAML syntax error: \(problem)\(during)"
        case let .reader(problem, offset, _, yaml):
            guard let offset else { return "\(path): YAML syntax error: \(problem)" }
            let (line, column) = TextFile.lineAndColumn(atEndOf: yaml.prefix(offset))
            return "\(path):\(line):\(column): YAML syntax error: \(problem)"
        default:
            return "\(path): YAML syntax error: \(error)"
        }
    }

    /// `path:line:column: JSON syntax error: problem`, from Foundation's parser, whose message gives a UTF-8 byte
    /// offset ("Invalid value around character 48."); the end of the file when it gives none. Nil when the data parses.
    static func jsonSyntaxError(_ data: Data, path: String) -> String? {
        do {
            _ = try JSONSerialization.jsonObject(with: data)
            return nil
        } catch {
            let message = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? "\(error)"
            var problem = message
            var offset = data.count
            if let range = message.range(of: " around character ") {
                problem = String(message[..<range.lowerBound])
                offset = min(Int(message[range.upperBound...].prefix { $0.isNumber }) ?? data.count, data.count)
            }
            let (line, column) = TextFile.lineAndColumn(atEndOf: String(decoding: data.prefix(offset), as: UTF8.self))
            return "\(path):\(line):\(column): JSON syntax error: \(problem)"
        }
    }

    /// A recipe decoding failure that is not a syntax error, with the path of the offending field.
    static func describe(_ error: any Error) -> String {
        /// `calibration.samples: `, `overrides[0].weight: `, or nothing at the top.
        func at(_ context: DecodingError.Context) -> String {
            let path = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? "." + $0.stringValue }.joined()
            return path.isEmpty ? "" : String(path.drop { $0 == "." }) + ": "
        }
        guard let decoding = error as? DecodingError else { return "\(error)" }
        switch decoding {
        case let .keyNotFound(key, context): return "\(at(context))missing key '\(key.stringValue)'"
        case let .typeMismatch(_, context) where context.codingPath.isEmpty:
            return "a recipe is a mapping of fields (name, weight, input, output, kv_cache, overrides, ...)"
        case let .typeMismatch(type, context): return "\(at(context))expected \(type)"
        case let .valueNotFound(type, context): return "\(at(context))null, expected \(type)"
        case let .dataCorrupted(context): return "\(at(context))\(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}
