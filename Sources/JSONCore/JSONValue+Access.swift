extension JSONValue {
    /// The value as an `Int` when it is a number written without fraction or exponent that fits in `Int`
    /// (`"3"`, `"-0"`); nil for `"3.0"`, `"1e3"`, `"9223372036854775808"` and every other kind, as serde_json's
    /// integer types reject them.
    public var integerValue: Int? {
        guard case let .number(text) = self, !text.utf8.contains(where: { $0 == 0x2E || $0 == 0x65 || $0 == 0x45 })
        else { return nil }
        return Int(text)
    }

    /// The value as the nearest `Double` when it is a number (`"1e400"` becomes infinity, as `Double(_:)` reads it).
    public var doubleValue: Double? {
        guard case let .number(text) = self else { return nil }
        return Double(text)
    }

    /// The string, when the value is one.
    public var stringValue: String? {
        guard case let .string(text) = self else { return nil }
        return text
    }

    /// The flag, when the value is `true` or `false`.
    public var boolValue: Bool? {
        guard case let .bool(flag) = self else { return nil }
        return flag
    }

    /// The elements, when the value is an array.
    public var arrayValue: [JSONValue]? {
        guard case let .array(elements) = self else { return nil }
        return elements
    }

    /// The members in document order, repeated keys included, when the value is an object.
    public var members: [Member]? {
        guard case let .object(members) = self else { return nil }
        return members
    }

    /// The object's members as a dictionary in which a repeated key keeps its last value (serde_json's rule for
    /// maps and structs); nil when the value is not an object.
    public var lastValueByKey: [String: JSONValue]? {
        guard case let .object(members) = self else { return nil }
        var fields: [String: JSONValue] = [:]
        fields.reserveCapacity(members.count)
        for member in members { fields[member.key] = member.value }
        return fields
    }

    /// The key whose second occurrence comes first in the object; nil when every key is unique or the value is not an
    /// object.
    public var firstRepeatedKey: String? {
        guard case let .object(members) = self else { return nil }
        var seen = Set<String>()
        seen.reserveCapacity(members.count)
        for member in members where !seen.insert(member.key).inserted { return member.key }
        return nil
    }
}
