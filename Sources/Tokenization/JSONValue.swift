import Foundation

/// A parsed JSON value, so that `tokenizer.json` can be read field by field with errors that name the key path.
enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// Parses `data` (RFC 8259; a repeated object key keeps its last value, as serde_json does).
    /// - Throws: `TokenizerError.malformedJSON` with the byte offset and what was expected there.
    static func parse(_ data: Data) throws(TokenizerError) -> JSONValue {
        let bytes = [UInt8](data)
        var parser = JSONParser(bytes: bytes)
        return try parser.parseDocument()
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
