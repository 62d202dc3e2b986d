/// What can be wrong with a quantization recipe, scheme or input tensor.
public enum QuantError: Error, Equatable, CustomStringConvertible {
    /// A recipe or scheme field holds an impossible value; names the field and what is allowed.
    case invalidConfiguration(field: String, reason: String)
    /// Shapes of a tensor and its parameters disagree.
    case shapeMismatch(String)
    /// Input values that cannot be quantized (NaN, infinity where the format has none).
    case nonFiniteInput(String)
    /// Calibration produced no statistics.
    case noCalibrationData(String)

    public var description: String {
        switch self {
        case let .invalidConfiguration(field, reason): "invalid recipe: \(field): \(reason)"
        case let .shapeMismatch(reason): "shape mismatch: \(reason)"
        case let .nonFiniteInput(reason): "non-finite input: \(reason)"
        case let .noCalibrationData(reason): "no calibration data: \(reason)"
        }
    }
}
