/// Splits text into the pieces ("words") that byte-level BPE merges inside, never across.
///
/// A pre-tokenizer is a list of steps applied in order, each to every piece the previous step produced, as Hugging
/// Face tokenizers' `Sequence` pre-tokenizer does. The regex steps are hand-written scanners over Unicode scalars that
/// reproduce Oniguruma's leftmost-alternative, backtracking semantics for exactly two patterns (`SplitPattern`).
public struct PreTokenizer: Sendable, Equatable {
    /// One pre-tokenization step.
    public enum Step: Sendable, Equatable {
        /// Hugging Face `Digits`: isolates each numeric scalar (`individualDigits`) or each run of them. "Numeric" is
        /// Rust's `char::is_numeric`, general category N.
        case digits(individualDigits: Bool)
        /// Hugging Face `Split(pattern, behavior: Isolated)`: every regex match becomes its own piece.
        case split(SplitPattern)
        /// Hugging Face `ByteLevel(add_prefix_space: true)`: a piece that does not start with U+0020 gets one
        /// prepended.
        case addPrefixSpace
    }

    /// The regexes the `split` step implements.
    public enum SplitPattern: String, Sendable, Equatable, CaseIterable {
        /// GPT-2's pattern (OpenAI `encoder.py`; Hugging Face `ByteLevel` with `use_regex: true`).
        case gpt2
        /// Llama 3's pattern (Meta's `tokenizer.py`, llama.cpp `LLAMA_VOCAB_PRE_TYPE_LLAMA3`).
        case llama3

        /// The regex, spelled as `tokenizer.json` files spell it.
        public var regex: String {
            switch self {
            case .gpt2:
                #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
            case .llama3:
                #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"#
                    + #"|\s*[\r\n]+|\s+(?!\S)|\s+"#
            }
        }
    }

    /// The steps, applied in order.
    public var steps: [Step]

    /// A pre-tokenizer that runs `steps` in order.
    public init(steps: [Step]) {
        self.steps = steps
    }

    /// GPT-2: the GPT-2 regex alone (llama.cpp `gpt2`; Hugging Face `ByteLevel`).
    public static let gpt2 = PreTokenizer(steps: [.split(.gpt2)])
    /// SmolLM / StarCoder: each numeric scalar isolated, then the GPT-2 regex (llama.cpp `smollm`, whose regex list is
    /// `\p{N}` then GPT-2's; Hugging Face `Sequence[Digits(individual_digits: true), ByteLevel]`).
    public static let smolLM = PreTokenizer(steps: [.digits(individualDigits: true), .split(.gpt2)])
    /// Llama 3: the Llama 3 regex alone (llama.cpp `llama-bpe`).
    public static let llama3 = PreTokenizer(steps: [.split(.llama3)])

    /// GGUF `tokenizer.ggml.pre` names and what they mean, following llama.cpp's `llama_vocab::impl::load`, which
    /// gives every name in a group the same regex list. llama.cpp spells GPT-2's `gpt-2`; `gpt2` is accepted too.
    static let ggufNames: [String: PreTokenizer] = [
        "gpt-2": .gpt2, "gpt2": .gpt2, "phi-2": .gpt2, "mpt": .gpt2, "olmo": .gpt2,
        "smollm": .smolLM, "starcoder": .smolLM, "refact": .smolLM, "codeshell": .smolLM,
        "llama-bpe": .llama3, "llama3": .llama3, "llama-v3": .llama3, "falcon3": .llama3, "pixtral": .llama3,
    ]

    /// The GGUF pre-tokenizer names `init(ggufName:)` accepts, sorted.
    public static var supportedGGUFNames: [String] { ggufNames.keys.sorted() }

    /// The pre-tokenizer a GGUF file names in `tokenizer.ggml.pre`.
    /// - Throws: `TokenizerError.unsupportedPreTokenizer` naming any other value (including llama.cpp's `default`,
    ///   whose regex list is not GPT-2's).
    public init(ggufName: String) throws(TokenizerError) {
        guard let known = Self.ggufNames[ggufName] else { throw .unsupportedPreTokenizer(ggufName) }
        self = known
    }

    /// The pieces of `text`, in order; concatenated they give `text` back unless an `addPrefixSpace` step added
    /// spaces. Empty pieces are never produced.
    public func split(_ text: String) -> [String] {
        let scalars = text.unicodeScalars.map(\.value)
        let classes = scalars.map(ScalarClass.of)
        var collector = PieceCollector()
        scalars.withUnsafeBufferPointer { scalarBuffer in
            classes.withUnsafeBufferPointer { classBuffer in
                forEachPiece(scalars: scalarBuffer, classes: classBuffer, into: &collector)
            }
        }
        return collector.pieces
    }

    /// Hands each piece of the text whose scalars and `ScalarClass` flags are given to `consumer`, in order.
    /// - Parameters: `scalars` and `classes` have the same count; every scalar value is valid.
    func forEachPiece<Consumer: PieceConsumer>(
        scalars: UnsafeBufferPointer<UInt32>, classes: UnsafeBufferPointer<UInt8>, into consumer: inout Consumer
    ) {
        precondition(scalars.count == classes.count)
        guard !scalars.isEmpty else { return }
        apply(step: 0, scalars: scalars, classes: classes, range: 0..<scalars.count, &consumer)
    }

    // A generic consumer rather than a closure: the specialized loop then calls `consume` directly, without copying
    // captured state per piece.
    private func apply<Consumer: PieceConsumer>(
        step index: Int, scalars: UnsafeBufferPointer<UInt32>, classes: UnsafeBufferPointer<UInt8>,
        range: Range<Int>, _ consumer: inout Consumer
    ) {
        guard index < steps.count else {
            consumer.consume(UnsafeBufferPointer(rebasing: scalars[range]))
            return
        }
        let next = index + 1
        switch steps[index] {
        case .digits(let individualDigits):
            var start = range.lowerBound
            var position = range.lowerBound
            while position < range.upperBound {
                guard classes[position] == ScalarClass.number else {
                    position += 1
                    continue
                }
                if start < position {
                    apply(step: next, scalars: scalars, classes: classes, range: start..<position, &consumer)
                }
                var end = position + 1
                if !individualDigits {
                    while end < range.upperBound && classes[end] == ScalarClass.number { end += 1 }
                }
                apply(step: next, scalars: scalars, classes: classes, range: position..<end, &consumer)
                start = end
                position = end
            }
            if start < range.upperBound {
                apply(step: next, scalars: scalars, classes: classes, range: start..<range.upperBound, &consumer)
            }
        case .split(let pattern):
            var position = range.lowerBound
            while position < range.upperBound {
                let end =
                    switch pattern {
                    case .gpt2: Self.gpt2Match(scalars, classes, at: position, end: range.upperBound)
                    case .llama3: Self.llama3Match(scalars, classes, at: position, end: range.upperBound)
                    }
                precondition(end > position, "pre-tokenizer scanner made no progress")
                apply(step: next, scalars: scalars, classes: classes, range: position..<end, &consumer)
                position = end
            }
        case .addPrefixSpace:
            if scalars[range.lowerBound] == 0x20 {
                apply(step: next, scalars: scalars, classes: classes, range: range, &consumer)
                return
            }
            let prefixed = [0x20] + scalars[range]
            let prefixedClasses = [ScalarClass.whitespace] + classes[range]
            prefixed.withUnsafeBufferPointer { newScalars in
                prefixedClasses.withUnsafeBufferPointer { newClasses in
                    apply(step: next, scalars: newScalars, classes: newClasses, range: 0..<newScalars.count, &consumer)
                }
            }
        }
    }
}

/// Receives the pieces a `PreTokenizer` produces.
protocol PieceConsumer {
    mutating func consume(_ piece: UnsafeBufferPointer<UInt32>)
}

/// Collects pieces as strings (for `PreTokenizer.split`).
private struct PieceCollector: PieceConsumer {
    var pieces: [String] = []

    mutating func consume(_ piece: UnsafeBufferPointer<UInt32>) {
        var view = String.UnicodeScalarView()
        for value in piece { view.append(Unicode.Scalar(value).unsafelyUnwrapped) }
        pieces.append(String(view))
    }
}
