/// One multiple-choice question scored by log-likelihood: a context, the candidate continuations, and the index of
/// the right one.
public struct MultipleChoiceItem: Codable, Sendable, Equatable {
    /// The prompt every choice continues (may be empty: the choices are then scored after a start token).
    public var context: String
    /// The candidate continuations, appended to `context` as written (a leading space is part of the choice).
    public var choices: [String]
    /// Index of the correct choice in `choices`.
    public var answer: Int

    /// An item; `validate()` says whether it can be scored.
    public init(context: String, choices: [String], answer: Int) {
        self.context = context
        self.choices = choices
        self.answer = answer
    }

    /// The choices of a BoolQ item, in this order: the answer `true` is index 0.
    public static let boolQChoices = [" yes", " no"]

    /// A BoolQ item in msModelSlim's layout (its `boolq` evaluation: `title`, `passage`, `question`, boolean `answer`),
    /// with its prompt `"{title} -- {passage}\nQuestion:{question}?\nAnswer:"` and the choices `" yes"` / `" no"`.
    public static func boolQ(title: String, passage: String, question: String, answer: Bool) -> MultipleChoiceItem {
        MultipleChoiceItem(
            context: "\(title) -- \(passage)\nQuestion:\(question)?\nAnswer:", choices: boolQChoices,
            answer: answer ? 0 : 1)
    }

    /// Why this item cannot be scored, or nil when it can: fewer than 2 choices, an empty choice, an answer out of range.
    public var problem: String? {
        guard !choices.isEmpty else { return "'choices' is empty; an item needs at least 2 choices" }
        guard choices.count >= 2 else { return "'choices' has 1 entry; an item needs at least 2 choices" }
        if let empty = choices.firstIndex(where: \.isEmpty) { return "choice \(empty) is an empty string" }
        guard choices.indices.contains(answer) else {
            return "'answer' \(answer) is out of range for \(choices.count) choices (0...\(choices.count - 1))"
        }
        return nil
    }
}
