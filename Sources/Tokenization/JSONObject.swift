/// Typed access to a JSON object's fields, throwing `TokenizerError.malformedJSON` with the key path on a mismatch.
struct JSONObject {
    let fields: [String: JSONValue]
    let path: String

    init(_ value: JSONValue, path: String) throws(TokenizerError) {
        guard case .object(let fields) = value else {
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
        guard case .string(let text) = value else {
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
        guard case .bool(let flag) = value else {
            throw .malformedJSON(path: keyPath(key), reason: "expected a boolean, found \(value.kind)")
        }
        return flag
    }

    func optionalNumber(_ key: String) throws(TokenizerError) -> Double? {
        guard let value = optional(key) else { return nil }
        guard case .number(let number) = value else {
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
        guard case .array(let items) = value else {
            throw .malformedJSON(path: keyPath(key), reason: "expected an array, found \(value.kind)")
        }
        return items
    }

    static func integer(_ value: JSONValue, path: String) throws(TokenizerError) -> Int {
        guard case .number(let number) = value, number.rounded() == number, abs(number) < 9.0e15 else {
            throw .malformedJSON(path: path, reason: "expected an integer, found \(value.kind)")
        }
        return Int(number)
    }
}
