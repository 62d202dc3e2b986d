// Hand-written matchers for the two supported split regexes. Each returns where the regex's match starting at
// `start` ends, trying the alternatives in order as Oniguruma does; `end` acts as the end of the subject string
// (Hugging Face applies the regex to each piece separately, so `(?!\S)` succeeds there). Swift `Regex` could express
// the patterns but is far too slow for a megabyte of text.

private let apostrophe: UInt32 = 0x27
private let space: UInt32 = 0x20
private let carriageReturn: UInt32 = 0x0D
private let lineFeed: UInt32 = 0x0A

extension PreTokenizer {
    /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
    static func gpt2Match(
        _ scalars: UnsafeBufferPointer<UInt32>, _ classes: UnsafeBufferPointer<UInt8>, at start: Int, end: Int
    ) -> Int {
        let first = scalars[start]
        // 's|'t|'re|'ve|'m|'ll|'d (case-sensitive)
        if first == apostrophe, let length = contractionLength(scalars, at: start, end: end, foldCase: false) {
            return start + length
        }
        // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: the optional space is only U+0020, and without it the
        // class must match at `start` itself, which a space never does.
        let body = first == space ? start + 1 : start
        if body < end {
            let bodyClass = classes[body]
            if bodyClass != ScalarClass.whitespace {
                var position = body + 1
                while position < end && classes[position] == bodyClass { position += 1 }
                return position
            }
        }
        return whitespaceMatch(classes, at: start, end: end)
    }

    /// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*`
    /// `|\s*[\r\n]+|\s+(?!\S)|\s+`
    static func llama3Match(
        _ scalars: UnsafeBufferPointer<UInt32>, _ classes: UnsafeBufferPointer<UInt8>, at start: Int, end: Int
    ) -> Int {
        let first = scalars[start]
        let firstClass = classes[start]
        if first == apostrophe, let length = contractionLength(scalars, at: start, end: end, foldCase: true) {
            return start + length
        }
        // [^\r\n\p{L}\p{N}]?\p{L}+
        var letters = -1
        if firstClass == ScalarClass.letter {
            letters = start
        } else if firstClass != ScalarClass.number && first != carriageReturn && first != lineFeed && start + 1 < end
            && classes[start + 1] == ScalarClass.letter
        {
            letters = start + 1
        }
        if letters >= 0 {
            var position = letters + 1
            while position < end && classes[position] == ScalarClass.letter { position += 1 }
            return position
        }
        // \p{N}{1,3}
        if firstClass == ScalarClass.number {
            var position = start + 1
            while position < end && position < start + 3 && classes[position] == ScalarClass.number { position += 1 }
            return position
        }
        // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
        let body = first == space ? start + 1 : start
        if body < end && classes[body] == ScalarClass.other {
            var position = body + 1
            while position < end && classes[position] == ScalarClass.other { position += 1 }
            while position < end && (scalars[position] == carriageReturn || scalars[position] == lineFeed) {
                position += 1
            }
            return position
        }
        // \s*[\r\n]+ : `\s*` backs off to the last line break of the whitespace run, which `[\r\n]+` then takes.
        var runEnd = start
        var lastBreak = -1
        while runEnd < end && classes[runEnd] == ScalarClass.whitespace {
            if scalars[runEnd] == carriageReturn || scalars[runEnd] == lineFeed { lastBreak = runEnd }
            runEnd += 1
        }
        if lastBreak >= 0 { return lastBreak + 1 }
        return whitespaceMatch(classes, at: start, end: end)
    }

    /// `\s+(?!\S)|\s+` at a whitespace scalar: the whole run when it reaches `end`; otherwise all of it but the last
    /// scalar (left to prefix the next word), or the single scalar when the run has only one.
    @inline(__always)
    private static func whitespaceMatch(_ classes: UnsafeBufferPointer<UInt8>, at start: Int, end: Int) -> Int {
        precondition(classes[start] == ScalarClass.whitespace, "every scalar class is covered before whitespace")
        var runEnd = start + 1
        while runEnd < end && classes[runEnd] == ScalarClass.whitespace { runEnd += 1 }
        if runEnd == end || runEnd - start == 1 { return runEnd }
        return runEnd - 1
    }

    /// Length of the contraction (`'s`, `'t`, `'re`, `'ve`, `'m`, `'ll`, `'d`) at `start`, or nil.
    /// `foldCase` follows Oniguruma's `(?i:)` with Unicode simple case folding: ASCII either case, and U+017F (ſ),
    /// which folds to `s`.
    @inline(__always)
    private static func contractionLength(
        _ scalars: UnsafeBufferPointer<UInt32>, at start: Int, end: Int, foldCase: Bool
    ) -> Int? {
        guard start + 1 < end else { return nil }
        func letter(_ value: UInt32) -> UInt32 {
            guard foldCase else { return value }
            if value >= 0x41 && value <= 0x5A { return value + 0x20 }
            if value == 0x17F { return 0x73 }
            return value
        }
        let second = letter(scalars[start + 1])
        switch second {
        case 0x73, 0x74, 0x6D, 0x64:  // s t m d
            return 2
        case 0x72, 0x76:  // r v, then e
            return start + 2 < end && letter(scalars[start + 2]) == 0x65 ? 3 : nil
        case 0x6C:  // l, then l
            return start + 2 < end && letter(scalars[start + 2]) == 0x6C ? 3 : nil
        default:
            return nil
        }
    }
}
