import QuantCore

/// A recipe writes a step as a bare name (`"gptq"`) or as an object with the name and its settings
/// (`{"name": "smoothquant", "alpha": 0.6}`); settings decode straight into the algorithm's `Configuration`, whose
/// defaults fill what is left out.
extension AlgorithmStep: Codable {
    public init(from decoder: any Decoder) throws {
        if let single = try? decoder.singleValueContainer(), let name = try? single.decode(String.self) {
            self = try Self.named(name)
            return
        }
        let c = try decoder.container(keyedBy: SettingKey.self)
        guard c.contains(SettingKey("name")) else {
            throw QuantError.invalidConfiguration(field: "algorithms", reason: "an algorithm object needs a \"name\"")
        }
        let registration = try Self.registration(named: try c.decode(String.self, forKey: SettingKey("name")))
        for key in c.allKeys.map(\.stringValue).sorted() where key != "name" && !registration.settingKeys.contains(key) {
            throw QuantError.invalidConfiguration(
                field: "algorithms.\(registration.name).\(key)",
                reason: "unknown setting; allowed: \(registration.settingKeys.sorted().joined(separator: ", "))")
        }
        do {
            self = try registration.decode(decoder)
        } catch let error as QuantError {
            throw error
        } catch let DecodingError.typeMismatch(type, context) {
            throw QuantError.invalidConfiguration(
                field: "algorithms.\(registration.name).\(context.codingPath.last?.stringValue ?? "?")", reason: "expected \(type)")
        } catch {
            throw QuantError.invalidConfiguration(field: "algorithms.\(registration.name)", reason: "bad settings: \(error)")
        }
    }

    /// A step with its default configuration is written as its name; otherwise as an object with every setting.
    public func encode(to encoder: any Encoder) throws {
        if let standard = try? Self.named(name), standard == self {
            var single = encoder.singleValueContainer()
            try single.encode(name)
            return
        }
        var c = encoder.container(keyedBy: SettingKey.self)
        try c.encode(name, forKey: SettingKey("name"))
        try registration.encode(self, encoder)
    }

    struct SettingKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ name: String) { stringValue = name }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}
