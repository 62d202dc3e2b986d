import Foundation

/// A parsed JSON value, so that `tokenizer.json` can be read field by field with errors that name the key path.
enum JSONValue: Decodable, Equatable, Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    /// Parses `data`.
    /// - Throws: `TokenizerError.malformedJSON` with the parser's message.
    static func parse(_ data: Data) throws(TokenizerError) -> JSONValue {
        do {
            return try JSONDecoder().decode(JSONValue.self, from: data)
        } catch let error as DecodingError {
            throw .malformedJSON(path: "", reason: "not valid JSON (\(Self.summary(of: error)))")
        } catch {
            throw .malformedJSON(path: "", reason: "not valid JSON (\(error))")
        }
    }

    private static func summary(of error: DecodingError) -> String {
        switch error {
        case let .dataCorrupted(context), let .typeMismatch(_, context), let .valueNotFound(_, context),
            let .keyNotFound(_, context):
            context.debugDescription
        @unknown default:
            "\(error)"
        }
    }

    /// A short name of the value's kind, for messages.
    var kind: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

/// Typed access to a JSON object's fields, throwing `TokenizerError.malformedJSON` with the key path on a mismatch.
struct JSONObject {
    let fields: [String: JSONValue]
    let path: String

    init(_ value: JSONValue, path: String) throws(TokenizerError) {
        guard case let .object(fields) = value else {
            throw .malformedJSON(path: path, reason: "expected an object, found \(value.kind)")
        }
        self.fields = fields
        self.path = path
    }

    func keyPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// The field, or nil when it is absent or null.
    func optional(_ key: String) -> JSONValue? {
        guard let value = fields[key], value != .null else { return nil }
        return value
    }

    func required(_ key: String) throws(TokenizerError) -> JSONValue {
        guard let value = optional(key) else { throw .malformedJSON(path: keyPath(key), reason: "missing") }
        return value
    }

    func object(_ key: String) throws(TokenizerError) -> JSONObject {
        try JSONObject(try required(key), path: keyPath(key))
    }

    func string(_ key: String) throws(TokenizerError) -> String {
        let value = try required(key)
        guard case let .string(text) = value else {
            throw .malformedJSON(path: keyPath(key), reason: "expected a string, found \(value.kind)")
        }
        return text
    }

    func optionalString(_ key: String) throws(TokenizerError) -> String? {
        guard optional(key) != nil else { return nil }
        return try string(key)
    }

    func bool(_ key: String, default defaultValue: Bool) throws(TokenizerError) -> Bool {
        guard let value = optional(key) else { return defaultValue }
        guard case let .bool(flag) = value else {
            throw .malformedJSON(path: keyPath(key), reason: "expected a boolean, found \(value.kind)")
        }
        return flag
    }

    func optionalNumber(_ key: String) throws(TokenizerError) -> Double? {
        guard let value = optional(key) else { return nil }
        guard case let .number(number) = value else {
            throw .malformedJSON(path: keyPath(key), reason: "expected a number, found \(value.kind)")
        }
        return number
    }

    func int(_ key: String) throws(TokenizerError) -> Int {
        let value = try required(key)
        return try Self.integer(value, path: keyPath(key))
    }

    func array(_ key: String) throws(TokenizerError) -> [JSONValue] {
        let value = try required(key)
        guard case let .array(items) = value else {
            throw .malformedJSON(path: keyPath(key), reason: "expected an array, found \(value.kind)")
        }
        return items
    }

    static func integer(_ value: JSONValue, path: String) throws(TokenizerError) -> Int {
        guard case let .number(number) = value, number.rounded() == number, abs(number) < 9.0e15 else {
            throw .malformedJSON(path: path, reason: "expected an integer, found \(value.kind)")
        }
        return Int(number)
    }
}
