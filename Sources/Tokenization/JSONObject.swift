import Foundation
import JSONCore

/// Typed access to a JSON object's fields, throwing `TokenizerError.malformedJSON` with the key path on a mismatch.
///
/// A repeated key keeps its last value, as serde_json (and so Hugging Face tokenizers) reads maps and structs.
struct JSONObject {
    let fields: [String: JSONValue]
    let path: String

    init(_ value: JSONValue, path: String) throws(TokenizerError) {
        guard let fields = value.lastValueByKey else {
            throw .malformedJSON(path: path, reason: "expected an object, found \(value.kindName)")
        }
        self.fields = fields
        self.path = path
    }

    /// The root object of a `tokenizer.json` document.
    /// - Throws: `TokenizerError.malformedJSON` at path `""` naming the byte offset when `data` is not JSON, or when its
    ///   top-level value is not an object.
    static func parse(_ data: Data) throws(TokenizerError) -> JSONObject {
        let result = data.withUnsafeBytes { bytes in
            // serde_json's recursion limit, so that every document tokenizers reads is read here too.
            Result { () throws(JSONParser.Failure) in try JSONParser.parse(bytes, maxDepth: 128) }
        }
        switch result {
        case let .success(value): return try JSONObject(value, path: "")
        case let .failure(failure):
            throw .malformedJSON(path: "", reason: "not valid JSON at byte \(failure.offset): \(failure.reason)")
        }
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
        guard let text = value.stringValue else {
            throw .malformedJSON(path: keyPath(key), reason: "expected a string, found \(value.kindName)")
        }
        return text
    }

    func optionalString(_ key: String) throws(TokenizerError) -> String? {
        guard optional(key) != nil else { return nil }
        return try string(key)
    }

    func bool(_ key: String, default defaultValue: Bool) throws(TokenizerError) -> Bool {
        guard let value = optional(key) else { return defaultValue }
        guard let flag = value.boolValue else {
            throw .malformedJSON(path: keyPath(key), reason: "expected a boolean, found \(value.kindName)")
        }
        return flag
    }

    func optionalNumber(_ key: String) throws(TokenizerError) -> Double? {
        guard let value = optional(key) else { return nil }
        guard let number = value.doubleValue else {
            throw .malformedJSON(path: keyPath(key), reason: "expected a number, found \(value.kindName)")
        }
        return number
    }

    func int(_ key: String) throws(TokenizerError) -> Int {
        let value = try required(key)
        return try Self.integer(value, path: keyPath(key))
    }

    func array(_ key: String) throws(TokenizerError) -> [JSONValue] {
        let value = try required(key)
        guard let elements = value.arrayValue else {
            throw .malformedJSON(path: keyPath(key), reason: "expected an array, found \(value.kindName)")
        }
        return elements
    }

    /// `value` as an `Int`; like serde_json's integer types, a fraction (`1.0`), an exponent or a value beyond `Int`
    /// is not one.
    static func integer(_ value: JSONValue, path: String) throws(TokenizerError) -> Int {
        guard let integer = value.integerValue else {
            let found = if case .number = value { value.kindDescription } else { value.kindName }
            throw .malformedJSON(path: path, reason: "expected an integer, found \(found)")
        }
        return integer
    }
}
