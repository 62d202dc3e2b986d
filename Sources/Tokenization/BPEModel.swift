/// The immutable merge state of a `ByteLevelBPETokenizer`, kept in one class so that encoding loops hold a single
/// reference instead of copying (and retaining) every field of the tokenizer.
final class BPEModel: Sendable {
    let vocabulary: [String: Int]
    let merges: MergeTable
    /// The token id of each byte's alphabet scalar, -1 where the vocabulary lacks it.
    let byteTokenIDs: [Int32]
    let ignoresMerges: Bool
    let unknownTokenID: Int?
    let fusesUnknownTokens: Bool

    init(
        vocabulary: [String: Int], merges: MergeTable, ignoresMerges: Bool, unknownTokenID: Int?,
        fusesUnknownTokens: Bool
    ) {
        self.vocabulary = vocabulary
        self.merges = merges
        byteTokenIDs = (0..<256).map { byte in
            vocabulary[String(ByteLevelAlphabet.scalar(for: UInt8(byte)))].map { Int32($0) } ?? -1
        }
        self.ignoresMerges = ignoresMerges
        self.unknownTokenID = unknownTokenID
        self.fusesUnknownTokens = fusesUnknownTokens
    }

    /// Above this many symbols, merging uses a priority queue (O(n log n)) instead of rescanning (O(n²)).
    static let linearScanLimit = 48

    /// BPE over one piece's bytes: one symbol per byte, then merges lowest rank first, leftmost on ties.
    func merge(_ bytes: [UInt8], scratch: inout MergeScratch, into output: inout [Int]) {
        if ignoresMerges, let id = vocabulary[ByteLevelAlphabet.spell(bytes)] {
            output.append(id)
            return
        }
        scratch.symbols.removeAll(keepingCapacity: true)
        var previousWasUnknown = false
        for byte in bytes {
            let id = byteTokenIDs[Int(byte)]
            if id >= 0 {
                scratch.symbols.append(id)
                previousWasUnknown = false
            } else if let unknownTokenID {
                // Hugging Face BPE: an unknown character becomes `unk_token`, fused with the one before if `fuse_unk`.
                if !(fusesUnknownTokens && previousWasUnknown) { scratch.symbols.append(Int32(unknownTokenID)) }
                previousWasUnknown = true
            }
            // Otherwise the byte is dropped, as Hugging Face (no `unk_token`) and llama.cpp both drop it.
        }
        if scratch.symbols.count > Self.linearScanLimit {
            mergeWithQueue(&scratch)
        } else {
            mergeWithLinearScan(&scratch)
        }
        for id in scratch.symbols { output.append(Int(id)) }
    }

    /// Merges `scratch.symbols` in place by repeatedly taking the lowest-rank adjacent pair (the leftmost on ties).
    /// This is the reference algorithm (Sennrich et al. 2016; OpenAI `encoder.py` `bpe`).
    func mergeWithLinearScan(_ scratch: inout MergeScratch) {
        let count = scratch.symbols.count
        guard count > 1 else { return }
        scratch.ranks.removeAll(keepingCapacity: true)
        scratch.results.removeAll(keepingCapacity: true)
        for index in 0..<(count - 1) {
            let merge = merges.lookup(scratch.symbols[index], scratch.symbols[index + 1])
            scratch.ranks.append(merge?.rank ?? Int32.max)
            scratch.results.append(merge?.result ?? -1)
        }
        while true {
            var best = -1
            var bestRank = Int32.max
            for index in 0..<scratch.ranks.count where scratch.ranks[index] < bestRank {
                best = index
                bestRank = scratch.ranks[index]
            }
            if best < 0 { break }
            scratch.symbols[best] = scratch.results[best]
            scratch.symbols.remove(at: best + 1)
            scratch.ranks.remove(at: best)
            scratch.results.remove(at: best)
            // The pairs that now end and start at `best` changed; every other pair is as it was.
            if best > 0 {
                let merge = merges.lookup(scratch.symbols[best - 1], scratch.symbols[best])
                scratch.ranks[best - 1] = merge?.rank ?? Int32.max
                scratch.results[best - 1] = merge?.result ?? -1
            }
            if best < scratch.ranks.count {
                let merge = merges.lookup(scratch.symbols[best], scratch.symbols[best + 1])
                scratch.ranks[best] = merge?.rank ?? Int32.max
                scratch.results[best] = merge?.result ?? -1
            }
        }
    }

    /// Merges `scratch.symbols` in place with a binary heap of `(rank, position)` over a doubly linked list of symbols,
    /// as Hugging Face's `Word::merge_all` does; stale heap entries are skipped when popped.
    func mergeWithQueue(_ scratch: inout MergeScratch) {
        let count = scratch.symbols.count
        guard count > 1 else { return }
        var symbols = scratch.symbols
        var next = (0..<count).map { $0 + 1 < count ? Int32($0 + 1) : -1 }
        var previous = (0..<count).map { Int32($0) - 1 }
        var heap = MinHeap()
        for index in 0..<(count - 1) {
            if let merge = merges.lookup(symbols[index], symbols[index + 1]) {
                heap.push(rank: merge.rank, position: index)
            }
        }
        while let (rank, position) = heap.pop() {
            let right = Int(next[position])
            guard symbols[position] >= 0, right >= 0,
                let merge = merges.lookup(symbols[position], symbols[right]), merge.rank == rank
            else { continue }
            symbols[position] = merge.result
            symbols[right] = -1
            next[position] = next[right]
            if next[right] >= 0 { previous[Int(next[right])] = Int32(position) }
            let left = Int(previous[position])
            if left >= 0, let merge = merges.lookup(symbols[left], symbols[position]) {
                heap.push(rank: merge.rank, position: left)
            }
            let after = Int(next[position])
            if after >= 0, let merge = merges.lookup(symbols[position], symbols[after]) {
                heap.push(rank: merge.rank, position: position)
            }
        }
        scratch.symbols.removeAll(keepingCapacity: true)
        var index = 0
        while index >= 0 {
            scratch.symbols.append(symbols[index])
            index = Int(next[index])
        }
    }
}

/// Reusable buffers for BPE merging of one piece.
struct MergeScratch {
    var symbols: [Int32] = []
    var ranks: [Int32] = []
    var results: [Int32] = []
}
