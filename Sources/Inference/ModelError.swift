/// What can be wrong with a model's configuration or weights once the bytes are read.
public enum ModelError: Error, Equatable, CustomStringConvertible {
    /// The architecture is not one Quanta runs.
    case unsupportedArchitecture(String)
    /// A configuration value is missing or out of range.
    case invalidConfiguration(String)
    /// A weight the architecture needs is absent.
    case missingWeight(String)
    /// A weight has the wrong shape.
    case shapeMismatch(name: String, expected: [Int], found: [Int])
    /// A weight that the architecture does not use (never dropped silently).
    case unexpectedWeight(String)
    /// A weight holds NaN or infinity.
    case nonFiniteWeight(String)
    /// A token id outside the vocabulary, or an input too long for the context.
    case invalidInput(String)
    /// Quantizing an activation failed during a forward pass (NaN or infinite values, parameters that do not fit).
    case activationQuantization(place: String, reason: String)

    public var description: String {
        switch self {
        case let .unsupportedArchitecture(name):
            "unsupported architecture '\(name)' (Quanta runs llama-family decoders: llama, mistral-style llama)"
        case let .invalidConfiguration(reason): "invalid model configuration: \(reason)"
        case let .missingWeight(name): "missing weight '\(name)'"
        case let .shapeMismatch(name, expected, found): "weight '\(name)' has shape \(found), expected \(expected)"
        case let .unexpectedWeight(name): "unexpected weight '\(name)' (not part of the architecture)"
        case let .nonFiniteWeight(name): "weight '\(name)' contains NaN or infinity"
        case let .invalidInput(reason): "invalid input: \(reason)"
        case let .activationQuantization(place, reason): "activation quantization failed at '\(place)': \(reason)"
        }
    }
}
