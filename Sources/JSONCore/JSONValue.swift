/// A parsed JSON value (RFC 8259) that keeps everything the document says.
///
/// Foundation's `JSONSerialization` keeps only one of two equal keys and turns numbers into `NSNumber` (where `true`
/// can read as `1`), and a `[String: Any]` loses key order. Here objects keep every member in document order,
/// duplicates included, and numbers keep their literal text, so each reader decides by name what a duplicate key
/// means (safetensors rejects it; `tokenizer.json` keeps the last, as serde_json does) and rejects fractions or
/// values that overflow `Int` instead of rounding them. The same type is written back by `serialized(layout:)`.
public enum JSONValue: Equatable, Sendable {
    /// One `"key": value` pair of an object.
    public struct Member: Equatable, Sendable {
        public var key: String
        public var value: JSONValue

        public init(key: String, value: JSONValue) {
            self.key = key
            self.value = value
        }
    }

    /// The members in document order, repeated keys included.
    case object([Member])
    case array([JSONValue])
    case string(String)
    /// The number's literal text as it appears in the document (`"-1.5e3"`); the parser accepts only RFC 8259
    /// number syntax here, and `integer(_:)` builds one for writing.
    case number(String)
    case bool(Bool)
    case null

    /// The number `value`, written in decimal.
    public static func integer(_ value: Int) -> JSONValue { .number(String(value)) }

    /// An object whose key order carries no meaning, with its keys sorted so that a written document is the same bytes
    /// on every run (`Dictionary` order changes from one process to the next).
    public static func sortedObject(_ fields: [String: JSONValue]) -> JSONValue {
        .object(fields.sorted { $0.key < $1.key }.map { Member(key: $0.key, value: $0.value) })
    }

    /// "an object", "a number", "a boolean", …: the kind alone, for messages of the form "expected X, found Y".
    public var kindName: String {
        switch self {
        case .object: "an object"
        case .array: "an array"
        case .string: "a string"
        case .number: "a number"
        case .bool: "a boolean"
        case .null: "null"
        }
    }

    /// Like `kindName`, but numbers and booleans show their value ("the number 1.5", "true"), for messages where the
    /// value itself explains the mismatch.
    public var kindDescription: String {
        switch self {
        case let .number(text): "the number \(text)"
        case let .bool(value): "\(value)"
        default: kindName
        }
    }
}
