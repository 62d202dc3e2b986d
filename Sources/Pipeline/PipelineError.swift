/// Errors of the load → evaluate → quantize → export pipeline that are not a lower module's.
public enum PipelineError: Error, Equatable, CustomStringConvertible {
    /// The path is neither a GGUF file nor a Hugging Face model folder.
    case unrecognizedModel(path: String, reason: String)
    /// A command-level setting is impossible.
    case invalidArgument(String)

    public var description: String {
        switch self {
        case let .unrecognizedModel(path, reason): "\(path): not a model Quanta can load: \(reason)"
        case let .invalidArgument(reason): reason
        }
    }
}
