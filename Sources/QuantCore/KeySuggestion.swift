/// The known name nearest a misspelt one, for "did you mean" hints in recipe and command-line errors.
public enum KeySuggestion {
    /// Optimal string alignment distance (Damerau–Levenshtein where no substring is edited twice): inserting,
    /// deleting or substituting a character, or swapping two neighbours, each costs 1. Compared case-insensitively,
    /// by Unicode scalar.
    public static func distance(_ a: String, _ b: String) -> Int {
        let s = Array(a.lowercased().unicodeScalars), t = Array(b.lowercased().unicodeScalars)
        if s.isEmpty { return t.count }
        if t.isEmpty { return s.count }
        // Three rows of the (s.count + 1) × (t.count + 1) table: the swap looks two rows back.
        var twoBack = [Int](repeating: 0, count: t.count + 1)
        var previous = Array(0...t.count)
        var current = [Int](repeating: 0, count: t.count + 1)
        for i in 1...s.count {
            current[0] = i
            for j in 1...t.count {
                let cost = s[i - 1] == t[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, s[i - 1] == t[j - 2], s[i - 2] == t[j - 1] {
                    current[j] = min(current[j], twoBack[j - 2] + 1)
                }
            }
            (twoBack, previous, current) = (previous, current, twoBack)
        }
        return previous[t.count]
    }

    /// Edits allowed for `name` to still read as a typo: max(2, a third of its length).
    public static func tolerance(for name: String) -> Int { max(2, name.unicodeScalars.count / 3) }

    /// The candidate nearest `name` when it is within `tolerance(for:)`; on a tie, the first in `candidates`.
    /// - Returns: nil when nothing is close enough, so an unrelated word gets no misleading hint.
    public static func nearest(to name: String, among candidates: [String]) -> String? {
        var best: (candidate: String, distance: Int)?
        for candidate in candidates {
            let d = distance(name, candidate)
            if d <= tolerance(for: name), d < (best?.distance ?? .max) { best = (candidate, d) }
        }
        return best?.candidate
    }
}
