/// Finds added tokens in UTF-8 text: at the leftmost position where any token matches, the longest one (Hugging
/// Face's Aho-Corasick `MatchKind::LeftmostLongest`; llama.cpp also tries longer tokens first).
struct AddedTokenMatcher: Sendable {
    private let tokens: [AddedToken]
    private let contents: [[UInt8]]
    /// Indices into `tokens` by first byte, longest content first.
    private let candidatesByFirstByte: [[Int]]

    init(_ tokens: [AddedToken]) {
        let usable = tokens.filter { !$0.content.isEmpty }
        let contents = usable.map { Array($0.content.utf8) }
        var table = [[Int]](repeating: [], count: 256)
        for (index, bytes) in contents.enumerated() { table[Int(bytes[0])].append(index) }
        for byte in 0..<256 {
            // Longest first, so the first candidate that matches is the longest; equal lengths keep vocabulary order.
            table[byte].sort {
                contents[$0].count > contents[$1].count || (contents[$0].count == contents[$1].count && $0 < $1)
            }
        }
        self.tokens = usable
        self.contents = contents
        candidatesByFirstByte = table
    }

    var isEmpty: Bool { tokens.isEmpty }

    /// A piece of the input: either plain text (`tokenID == nil`) or one added token's id.
    struct Segment: Equatable {
        var range: Range<Int>
        var tokenID: Int?
    }

    /// Splits `bytes[range]` into plain-text segments and added-token segments, in order. Matches of special tokens
    /// are left as text when `parseSpecialTokens` is false, as Hugging Face does with `split_special_tokens`.
    func split(_ bytes: UnsafeBufferPointer<UInt8>, range: Range<Int>, parseSpecialTokens: Bool) -> [Segment] {
        var segments: [Segment] = []
        var textStart = range.lowerBound
        var position = range.lowerBound
        while position < range.upperBound {
            guard let index = longestMatch(bytes, at: position, end: range.upperBound) else {
                position += 1
                continue
            }
            let token = tokens[index]
            var matchStart = position
            var matchEnd = position + contents[index].count
            if token.isSpecial && !parseSpecialTokens {
                position = matchEnd
                continue
            }
            if token.stripsLeft {
                matchStart = Self.whitespaceStart(bytes, before: matchStart, notBefore: textStart)
            }
            if token.stripsRight {
                matchEnd = Self.whitespaceEnd(bytes, after: matchEnd, end: range.upperBound)
            }
            if textStart < matchStart { segments.append(Segment(range: textStart..<matchStart, tokenID: nil)) }
            segments.append(Segment(range: matchStart..<matchEnd, tokenID: token.id))
            textStart = matchEnd
            position = matchEnd
        }
        if textStart < range.upperBound { segments.append(Segment(range: textStart..<range.upperBound, tokenID: nil)) }
        return segments
    }

    private func longestMatch(_ bytes: UnsafeBufferPointer<UInt8>, at position: Int, end: Int) -> Int? {
        let candidates = candidatesByFirstByte[Int(bytes[position])]
        if candidates.isEmpty { return nil }
        candidateLoop: for index in candidates {
            let content = contents[index]
            guard position + content.count <= end else { continue }
            for offset in 1..<content.count where bytes[position + offset] != content[offset] { continue candidateLoop }
            return index
        }
        return nil
    }

    /// Start of the whitespace run that ends at `position`, not before `limit`.
    private static func whitespaceStart(_ bytes: UnsafeBufferPointer<UInt8>, before position: Int, notBefore limit: Int)
        -> Int
    {
        var start = position
        while start > limit {
            // Step back one UTF-8 scalar: skip continuation bytes (10xxxxxx).
            var scalarStart = start - 1
            while scalarStart > limit && bytes[scalarStart] & 0xC0 == 0x80 { scalarStart -= 1 }
            let (value, _) = UTF8Scanner.decode(bytes, at: scalarStart)
            guard ScalarClass.of(value) == ScalarClass.whitespace else { break }
            start = scalarStart
        }
        return start
    }

    /// End of the whitespace run that starts at `position`.
    private static func whitespaceEnd(_ bytes: UnsafeBufferPointer<UInt8>, after position: Int, end: Int) -> Int {
        var stop = position
        while stop < end {
            let (value, length) = UTF8Scanner.decode(bytes, at: stop)
            guard ScalarClass.of(value) == ScalarClass.whitespace else { break }
            stop += length
        }
        return stop
    }
}
