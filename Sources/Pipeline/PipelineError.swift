/// Errors of the load → evaluate → quantize → export pipeline that are not a lower module's.
public enum PipelineError: Error, Equatable, CustomStringConvertible {
    /// The path is neither a GGUF file nor a Hugging Face model folder.
    case unrecognizedModel(path: String, reason: String)
    /// The model has no tokenizer, and one is needed.
    case missingTokenizer(path: String)
    /// A text file could not be read or is not UTF-8.
    case unreadableText(path: String, reason: String)
    /// A command-level setting is impossible.
    case invalidArgument(String)
    /// Quantizing one layer failed (NaN weights, a scheme that does not fit); names the layer and the cause.
    case layerFailed(layer: String, reason: String)

    public var description: String {
        switch self {
        case let .unrecognizedModel(path, reason): "\(path): not a model Quanta can load: \(reason)"
        case let .missingTokenizer(path): "\(path): no tokenizer found (expected tokenizer.json, or tokenizer.ggml.* metadata in a GGUF)"
        case let .unreadableText(path, reason): "\(path): cannot read text: \(reason)"
        case let .invalidArgument(reason): reason
        case let .layerFailed(layer, reason): "quantizing \(layer) failed: \(reason)"
        }
    }
}
