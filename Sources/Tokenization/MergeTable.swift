/// The BPE merge rules as a hash map from a pair of token ids to (rank, merged token id).
///
/// Open addressing with linear probing over `UInt64` keys (`left << 32 | right`): the lookup sits in BPE's inner
/// loop, where it is several times faster than `Dictionary` with its per-process seeded hashing.
struct MergeTable: Sendable {
    /// A merge rule's priority (its line in the merges list: lower merges first) and the token it produces.
    struct Merge: Equatable {
        var rank: Int32
        var result: Int32
    }

    private static let emptyKey = UInt64.max
    private var keys: [UInt64]
    private var values: [UInt64]
    private var mask: Int
    private(set) var count = 0

    /// An empty table sized for `capacity` rules.
    init(capacity: Int) {
        var slots = 16
        while slots < capacity * 2 { slots <<= 1 }
        keys = [UInt64](repeating: Self.emptyKey, count: slots)
        values = [UInt64](repeating: 0, count: slots)
        mask = slots - 1
    }

    @inline(__always)
    private static func key(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }

    @inline(__always)
    private func slot(for key: UInt64) -> Int {
        // Fibonacci hashing: the multiply spreads both ids over the high bits.
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask
    }

    /// Inserts the rule `left right -> result` at `rank`. When the pair is already present, the rule with the lower
    /// rank is kept if `keepFirst` (llama.cpp's `emplace`), else the new one replaces it (Hugging Face's `HashMap`
    /// collect).
    mutating func insert(left: Int32, right: Int32, rank: Int32, result: Int32, keepFirst: Bool) {
        let key = Self.key(left, right)
        var index = slot(for: key)
        while keys[index] != Self.emptyKey {
            if keys[index] == key {
                if !keepFirst { values[index] = Self.pack(rank: rank, result: result) }
                return
            }
            index = (index + 1) & mask
        }
        keys[index] = key
        values[index] = Self.pack(rank: rank, result: result)
        count += 1
    }

    /// The rule for the pair `left right`, if any.
    @inline(__always)
    func lookup(_ left: Int32, _ right: Int32) -> Merge? {
        let key = Self.key(left, right)
        var index = slot(for: key)
        while true {
            let found = keys[index]
            if found == key {
                let packed = values[index]
                return Merge(rank: Int32(truncatingIfNeeded: packed >> 32), result: Int32(truncatingIfNeeded: packed))
            }
            if found == Self.emptyKey { return nil }
            index = (index + 1) & mask
        }
    }

    /// Every rule as `(left, right, rank)`, lowest rank first: the merges list in effect, without the duplicates
    /// `insert` dropped. Used by the `tokenizer.json` export, not by encoding.
    func rulesByRank() -> [(left: Int32, right: Int32, rank: Int32)] {
        var rules: [(left: Int32, right: Int32, rank: Int32)] = []
        rules.reserveCapacity(count)
        for (index, key) in keys.enumerated() where key != Self.emptyKey {
            rules.append(
                (
                    Int32(truncatingIfNeeded: key >> 32), Int32(truncatingIfNeeded: key),
                    Int32(truncatingIfNeeded: values[index] >> 32)
                ))
        }
        rules.sort { $0.rank < $1.rank }
        return rules
    }

    private static func pack(rank: Int32, result: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: rank)) << 32 | UInt64(UInt32(bitPattern: result))
    }
}
