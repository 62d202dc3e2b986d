import Tokenization

extension TaskEvaluation {
    /// Tokenizes `items` for a model whose forward pass takes at most `contextLength` tokens.
    ///
    /// Per item, following lm-evaluation-harness (`_encode_pair`): trailing whitespace of the context moves to the
    /// front of every choice; the context and each context + choice are encoded (the model's BOS first when its
    /// tokenizer adds one; control-token strings in the text stay text); an empty context is replaced by the BOS (or
    /// EOS) token so that the first token of a choice has something to be predicted from.
    ///
    /// The BPE boundary: when the context's last bytes and a choice's first bytes merge into one token, the ids of
    /// context + choice do not start with the context's ids. lm-evaluation-harness then still scores the ids of
    /// context + choice after the first len(context ids), which feeds the model a sequence no tokenizer produces.
    /// Here each choice is split where its ids stop agreeing with the context's (their longest common prefix): the
    /// model sees exactly the tokenization of context + choice, and the scored tokens hold every byte of the choice
    /// (plus, after a merge, the context bytes that share its first token). Without a merge this is the harness's split.
    ///
    /// Truncation: when context + choice (less its last token, which is only predicted) exceeds `contextLength`, the
    /// same number of tokens is dropped from the left of every choice's sequence (the harness truncates each request
    /// from the left the same way) and `truncatedTokens` says how many.
    /// - Throws: `AnalysisError.unscorableItem` for an item that fails `problem`, a choice that encodes to no tokens,
    ///   an empty context with neither BOS nor EOS, or a choice too long for the context window.
    public static func prepare(
        _ items: [MultipleChoiceItem], tokenizer: any TextTokenizer, contextLength: Int
    ) throws(AnalysisError) -> [PreparedItem] {
        guard !items.isEmpty else { throw .invalidSetting("there are no task items to score") }
        guard contextLength >= 2 else {
            throw .invalidSetting("the context window must hold at least 2 tokens, got \(contextLength)")
        }
        let start = startTokens(tokenizer)
        var prepared: [PreparedItem] = []
        prepared.reserveCapacity(items.count)
        for (index, item) in items.enumerated() {
            do throws(ItemProblem) {
                prepared.append(try prepare(item, tokenizer: tokenizer, start: start, contextLength: contextLength))
            } catch {
                throw .unscorableItem(item: index, reason: error.message)
            }
        }
        return prepared
    }

    /// Why one item cannot be prepared.
    struct ItemProblem: Error {
        let message: String
        init(_ message: String) { self.message = message }
    }

    static func prepare(
        _ item: MultipleChoiceItem, tokenizer: any TextTokenizer, start: [Int], contextLength: Int
    ) throws(ItemProblem) -> PreparedItem {
        if let problem = item.problem { throw ItemProblem(problem) }
        var context = item.context
        var choices = item.choices
        let trailing = context.reversed().prefix(while: \.isWhitespace).count
        if trailing > 0 {
            let whitespace = String(context.suffix(trailing))
            context.removeLast(trailing)
            choices = choices.map { whitespace + $0 }
        }
        func encode(_ text: String) -> [Int] {
            start + tokenizer.encode(text, addSpecialTokens: false, parseSpecialTokens: false)
        }
        let contextTokens = encode(context)
        var sequences = choices.map { encode(context + $0) }
        var shared = sequences.map { commonPrefixCount(contextTokens, $0) }
        if shared.min() == 0 {
            guard let first = tokenizer.bosTokenID ?? tokenizer.eosTokenID else {
                throw ItemProblem(
                    "nothing to predict the first choice token from: the context is empty and the tokenizer has no BOS or EOS token"
                )
            }
            sequences = sequences.map { [first] + $0 }
            shared = shared.map { $0 + 1 }
        }
        let scoredCounts = zip(sequences, shared).map { $0.count - $1 }
        if let silent = scoredCounts.firstIndex(of: 0) { throw ItemProblem("choice \(silent) encodes to no tokens") }
        let longest = sequences.map { $0.count - 1 }.max()!
        let excess = max(0, longest - contextLength)
        if excess > 0 {
            guard excess < shared.min()! else {
                let choice = sequences.indices.max {
                    sequences[$0].count - shared[$0] < sequences[$1].count - shared[$1]
                }!
                throw ItemProblem(
                    "choice \(choice) has \(scoredCounts[choice]) tokens, too many for the model's context window of \(contextLength) tokens"
                )
            }
            sequences = sequences.map { Array($0.dropFirst(excess)) }
            shared = shared.map { $0 - excess }
        }
        let prefixCount = shared.min()!
        return PreparedItem(
            prefix: Array(sequences[0].prefix(prefixCount)),
            continuations: sequences.map { Array($0.dropFirst(prefixCount)) },
            scoredCounts: scoredCounts, choiceLengths: item.choices.map(\.unicodeScalars.count), answer: item.answer,
            truncatedTokens: excess)
    }

    /// The tokens the tokenizer puts before any text (BOS when the model asks for one), found by encoding a probe
    /// with and without special tokens. Suffix tokens (EOS) are left out: they would be scored as part of a choice.
    static func startTokens(_ tokenizer: any TextTokenizer) -> [Int] {
        let plain = tokenizer.encode("a", addSpecialTokens: false, parseSpecialTokens: false)
        let decorated = tokenizer.encode("a", addSpecialTokens: true, parseSpecialTokens: false)
        guard decorated.count >= plain.count else { return [] }
        for offset in 0...(decorated.count - plain.count)
        where Array(decorated[offset..<(offset + plain.count)]) == plain {
            return Array(decorated.prefix(offset))
        }
        return []
    }

    /// How many leading ids `a` and `b` share.
    static func commonPrefixCount(_ a: [Int], _ b: [Int]) -> Int {
        zip(a, b).prefix { $0 == $1 }.count
    }
}
