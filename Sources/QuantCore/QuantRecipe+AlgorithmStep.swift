extension QuantRecipe {
    /// One algorithm a recipe runs: written as a bare name (`"gptq"`) or an object with the name and its settings
    /// (`{"name": "smoothquant", "alpha": 0.6}`). The algorithm decodes and validates its own settings.
    public struct AlgorithmStep: Codable, Sendable, Equatable {
        /// Canonical name: lowercase without `_` or `-` (`smooth_quant` → `smoothquant`).
        public var name: String
        /// Settings by their recipe key (`act_order`, `alpha`, ...).
        public var settings: [String: SettingValue]

        public init(name: String, settings: [String: SettingValue] = [:]) {
            self.name = Self.canonical(name)
            self.settings = settings
        }

        static func canonical(_ name: String) -> String { String(name.lowercased().filter { $0 != "_" && $0 != "-" }) }

        public init(from decoder: any Decoder) throws {
            if let single = try? decoder.singleValueContainer(), let name = try? single.decode(String.self) {
                self.init(name: name)
                return
            }
            let c = try decoder.container(keyedBy: AnyKey.self)
            guard let nameKey = c.allKeys.first(where: { $0.stringValue == "name" }) else {
                throw QuantError.invalidConfiguration(field: "algorithms", reason: "an algorithm object needs a \"name\"")
            }
            var settings: [String: SettingValue] = [:]
            for key in c.allKeys where key.stringValue != "name" {
                settings[key.stringValue] = try c.decode(SettingValue.self, forKey: key)
            }
            self.init(name: try c.decode(String.self, forKey: nameKey), settings: settings)
        }

        public func encode(to encoder: any Encoder) throws {
            if settings.isEmpty {
                var single = encoder.singleValueContainer()
                try single.encode(name)
                return
            }
            var c = encoder.container(keyedBy: AnyKey.self)
            try c.encode(name, forKey: AnyKey(stringValue: "name"))
            for key in settings.keys.sorted() { try c.encode(settings[key]!, forKey: AnyKey(stringValue: key)) }
        }
    }

    /// A setting's value as written in a recipe.
    public enum SettingValue: Codable, Sendable, Equatable {
        case bool(Bool)
        case number(Double)
        case text(String)
        case numbers([Double])

        public init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let value = try? c.decode(Bool.self) {
                self = .bool(value)
            } else if let value = try? c.decode(Double.self) {
                self = .number(value)
            } else if let value = try? c.decode(String.self) {
                self = .text(value)
            } else if let value = try? c.decode([Double].self) {
                self = .numbers(value)
            } else {
                throw QuantError.invalidConfiguration(
                    field: "algorithms", reason: "setting \(decoder.codingPath.last?.stringValue ?? "?") must be a bool, number, string or list of numbers")
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.singleValueContainer()
            switch self {
            case .bool(let value): try c.encode(value)
            case .number(let value): try c.encode(value)
            case .text(let value): try c.encode(value)
            case .numbers(let value): try c.encode(value)
            }
        }
    }
}
