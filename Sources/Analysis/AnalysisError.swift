/// Why an evaluation or analysis cannot run.
public enum AnalysisError: Error, Equatable, CustomStringConvertible {
    /// The text produced no tokens.
    case emptyText
    /// The text is too short for even one window.
    case textTooShort(tokenCount: Int, sequenceLength: Int)
    /// A setting is out of range.
    case invalidSetting(String)
    /// Two models disagree on the vocabulary.
    case vocabularyMismatch(model: Int, reference: Int)

    public var description: String {
        switch self {
        case .emptyText: "the evaluation text is empty (no tokens)"
        case let .textTooShort(count, length):
            "the text has \(count) tokens, fewer than one window of \(length); pass a longer text or use shorter windows"
        case let .invalidSetting(reason): reason
        case let .vocabularyMismatch(model, reference):
            "the model's vocabulary (\(model)) differs from the reference's (\(reference)); they cannot be compared"
        }
    }
}
