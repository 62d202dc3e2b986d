import Foundation

/// What can go wrong in the quantization engine outside a lower module: a saved folder that cannot be read, a
/// calibration text, a layer whose quantization failed, an output that is in the way.
public enum QuantizationError: Error, Equatable, CustomStringConvertible {
    /// A model folder (or a file in it) that cannot be loaded as what it claims to be.
    case invalidFolder(path: String, reason: String)
    /// The model has no tokenizer, and one is needed.
    case missingTokenizer(path: String)
    /// A text file could not be read or is not UTF-8.
    case unreadableText(path: String, reason: String)
    /// A file of calibration token windows (JSON or `.npy`) is unreadable, malformed, ragged, empty, or holds ids the
    /// model's vocabulary does not have.
    case invalidCalibrationTokens(path: String, reason: String)
    /// The output path exists and replacing it was not asked for.
    case outputExists(path: String)
    /// A setting that does not fit this model or this input.
    case invalidInput(String)
    /// A saved folder's `quantization.json` disagrees with the tensors it describes (or with the model); names the
    /// layer (or activation point) and the field.
    case invalidSavedLayer(path: String, layer: String, field: String, reason: String)
    /// An activation became NaN or infinite while running the model; names where (a block's output, a window's logits).
    case nonFiniteActivation(place: String, detail: String)
    /// Quantizing one layer failed (NaN weights, a scheme that does not fit); names the layer and the cause.
    case layerFailed(layer: String, reason: String)

    public var description: String {
        switch self {
        case let .invalidFolder(path, reason): "\(path): not a model Quanta can load: \(reason)"
        case let .missingTokenizer(path): "\(path): no tokenizer found (expected tokenizer.json, or tokenizer.ggml.* metadata in a GGUF)"
        case let .unreadableText(path, reason): "\(path): cannot read text: \(reason)"
        case let .invalidCalibrationTokens(path, reason): "\(path): calibration token windows: \(reason)"
        case let .outputExists(path): "\(path) already exists and would be replaced; remove it or allow overwriting"
        case let .invalidInput(reason): reason
        case let .layerFailed(layer, reason): "quantizing \(layer) failed: \(reason)"
        case let .invalidSavedLayer(path, layer, field, reason): "\(path): layer \(layer), field \(field): \(reason)"
        case let .nonFiniteActivation(place, detail):
            "\(place) became non-finite (\(detail)); the model or its quantization produces NaN or infinity here"
        }
    }

    /// A decoding error as one readable line (missing key, wrong type), not Foundation's nested dump.
    public static func describe(_ error: any Error) -> String {
        guard let decoding = error as? DecodingError else { return "\(error)" }
        switch decoding {
        case let .keyNotFound(key, _): return "missing key '\(key.stringValue)'"
        case let .typeMismatch(type, context): return "'\(context.codingPath.map(\.stringValue).joined(separator: "."))' is not \(type)"
        case let .valueNotFound(type, context): return "'\(context.codingPath.map(\.stringValue).joined(separator: "."))' is null, expected \(type)"
        case let .dataCorrupted(context): return "not valid JSON (\(context.debugDescription))"
        @unknown default: return "\(error)"
        }
    }
}
