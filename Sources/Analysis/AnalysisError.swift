import TensorCore

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
    /// A task file cannot be read (missing, unreadable).
    case unreadableTaskFile(path: String, reason: String)
    /// A task file holds no items.
    case emptyTaskFile(path: String)
    /// One line of a task file is not a valid item; `line` is 1-based.
    case malformedTaskLine(path: String, line: Int, reason: String)
    /// The model produced NaN or infinite logits (its activations overflowed or a weight is broken); names where.
    case nonFiniteLogits(place: String)
    /// An item cannot be scored with this tokenizer and model; `item` is 0-based in the order given.
    case unscorableItem(item: Int, reason: String)

    public var description: String {
        switch self {
        case .emptyText: "the evaluation text is empty (no tokens)"
        case let .textTooShort(count, length):
            "the text has \(count) tokens, fewer than one window of \(length); pass a longer text or use shorter windows"
        case let .invalidSetting(reason): reason
        case let .vocabularyMismatch(model, reference):
            "the model's vocabulary (\(model)) differs from the reference's (\(reference)); they cannot be compared"
        case let .unreadableTaskFile(path, reason): "\(path): cannot read the task file: \(reason)"
        case let .emptyTaskFile(path): "\(path): the task file holds no items (expected one JSON object per line)"
        case let .malformedTaskLine(path, line, reason): "\(path):\(line): \(reason)"
        case let .unscorableItem(item, reason): "task item \(item): \(reason)"
        case let .nonFiniteLogits(place):
            "\(place) hold NaN or infinity: the model's activations became non-finite; stopped rather than report a NaN score"
        }
    }

    /// Throws `.nonFiniteLogits(place)` when `logits` holds a NaN or an infinity (one vectorized pass per window).
    static func requireFinite(_ logits: Tensor, place: String) throws(AnalysisError) {
        if let index = logits.firstNonFiniteIndex() {
            let row = logits.shape.count == 2 ? " (position \(index / max(logits.shape[1], 1)))" : ""
            throw .nonFiniteLogits(place: place + row)
        }
    }
}
