extension ByteLevelBPETokenizer {
    /// Encodes `text` into token ids.
    ///
    /// Added tokens (`<|im_start|>`) are found first, leftmost-longest; the text between them is pre-tokenized and
    /// each piece is merged by BPE. Results are cached per distinct piece for the duration of the call.
    /// - Parameters:
    ///   - addSpecialTokens: put `prefixTokenIDs` before and `suffixTokenIDs` after the ids (Hugging Face
    ///     `add_special_tokens`; llama.cpp `add_special`).
    ///   - parseSpecialTokens: match special added tokens in the text; when false their text is tokenized like any
    ///     other text (Hugging Face `split_special_tokens = true`; llama.cpp `parse_special = false`). Non-special
    ///     added tokens are matched either way.
    /// - Returns: token ids, each in `0..<vocabularySize`.
    public func encode(_ text: String, addSpecialTokens: Bool = true, parseSpecialTokens: Bool = true) -> [Int] {
        var output: [Int] = addSpecialTokens ? prefixTokenIDs : []
        output.reserveCapacity(text.utf8.count / 3 + 8)
        var session = EncodingSession()
        let bytes = Array(text.utf8)
        bytes.withUnsafeBufferPointer { bytes in
            let whole = 0..<bytes.count
            let segments =
                rawAddedTokens.isEmpty
                ? [AddedTokenMatcher.Segment(range: whole, tokenID: nil)]
                : rawAddedTokens.split(bytes, range: whole, parseSpecialTokens: parseSpecialTokens)
            for segment in segments {
                if let id = segment.tokenID {
                    output.append(id)
                    continue
                }
                guard !normalizedAddedTokens.isEmpty else {
                    encodeText(bytes, range: segment.range, session: &session, into: &output)
                    continue
                }
                let inner = normalizedAddedTokens.split(
                    bytes, range: segment.range, parseSpecialTokens: parseSpecialTokens)
                for piece in inner {
                    if let id = piece.tokenID {
                        output.append(id)
                    } else {
                        encodeText(bytes, range: piece.range, session: &session, into: &output)
                    }
                }
            }
        }
        if addSpecialTokens { output += suffixTokenIDs }
        return output
    }

    /// Pre-tokenizes and merges `bytes[range]`, which holds no added token.
    private func encodeText(
        _ bytes: UnsafeBufferPointer<UInt8>, range: Range<Int>, session: inout EncodingSession, into output: inout [Int]
    ) {
        var scalars = session.takeScalars()
        var classes = session.takeClasses()
        defer { session.giveBack(scalars: scalars, classes: classes) }
        var position = range.lowerBound
        while position < range.upperBound {
            let (value, length) = UTF8Scanner.decode(bytes, at: position)
            scalars.append(value)
            classes.append(ScalarClass.of(value))
            position += length
        }
        scalars.withUnsafeBufferPointer { scalarBuffer in
            classes.withUnsafeBufferPointer { classBuffer in
                preTokenizer.forEachPiece(scalars: scalarBuffer, classes: classBuffer) { piece in
                    encodePiece(piece, session: &session, into: &output)
                }
            }
        }
    }

    private func encodePiece(
        _ piece: UnsafeBufferPointer<UInt32>, session: inout EncodingSession, into output: inout [Int]
    ) {
        session.pieceBytes.removeAll(keepingCapacity: true)
        for value in piece { appendUTF8(value, to: &session.pieceBytes) }
        // Keys of up to 15 UTF-8 bytes (most words) are stored inline in `String`, without allocating.
        let key = String(decoding: session.pieceBytes, as: UTF8.self)
        if let cached = session.cache[key] {
            output.append(contentsOf: cached)
            return
        }
        let start = output.count
        mergePiece(session.pieceBytes, scratch: &session.scratch, into: &output)
        session.cache[key] = Array(output[start...])
    }

    /// BPE over one piece's bytes: one symbol per byte, then merges lowest rank first, leftmost on ties.
    func mergePiece(_ bytes: [UInt8], scratch: inout MergeScratch, into output: inout [Int]) {
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

    /// Above this many symbols, merging uses a priority queue (O(n log n)) instead of rescanning (O(n²)).
    static let linearScanLimit = 48

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
        var next = [Int32](unsafeUninitializedCapacity: count) { buffer, initialized in
            for index in 0..<count { buffer[index] = index + 1 < count ? Int32(index + 1) : -1 }
            initialized = count
        }
        var previous = (0..<count).map { Int32($0) - 1 }
        var heap = MinHeap()
        for index in 0..<(count - 1) {
            if let merge = merges.lookup(symbols[index], symbols[index + 1]) { heap.push(rank: merge.rank, position: index) }
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

/// Per-call state of `encode`: the piece cache and scratch buffers.
struct EncodingSession {
    var cache: [String: [Int]] = [:]
    var pieceBytes: [UInt8] = []
    var scratch = MergeScratch()
    private var scalars: [UInt32] = []
    private var classes: [UInt8] = []

    mutating func takeScalars() -> [UInt32] {
        var taken: [UInt32] = []
        swap(&taken, &scalars)
        taken.removeAll(keepingCapacity: true)
        return taken
    }

    mutating func takeClasses() -> [UInt8] {
        var taken: [UInt8] = []
        swap(&taken, &classes)
        taken.removeAll(keepingCapacity: true)
        return taken
    }

    mutating func giveBack(scalars: [UInt32], classes: [UInt8]) {
        self.scalars = scalars
        self.classes = classes
    }
}

/// A binary min-heap of `(rank, position)` pairs packed in `UInt64`, ordered by rank, then position.
struct MinHeap {
    private var items: [UInt64] = []

    mutating func push(rank: Int32, position: Int) {
        items.append(UInt64(UInt32(bitPattern: rank)) << 32 | UInt64(position))
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard items[child] < items[parent] else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> (rank: Int32, position: Int)? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1
                guard left < items.count else { break }
                let right = left + 1
                let smaller = right < items.count && items[right] < items[left] ? right : left
                guard items[smaller] < items[parent] else { break }
                items.swapAt(smaller, parent)
                parent = smaller
            }
        }
        return (Int32(bitPattern: UInt32(truncatingIfNeeded: top >> 32)), Int(truncatingIfNeeded: top & 0xFFFF_FFFF))
    }
}

/// Appends the UTF-8 encoding of the valid scalar value `value`.
@inline(__always)
func appendUTF8(_ value: UInt32, to bytes: inout [UInt8]) {
    switch value {
    case 0..<0x80:
        bytes.append(UInt8(value))
    case 0x80..<0x800:
        bytes.append(UInt8(0xC0 | value >> 6))
        bytes.append(UInt8(0x80 | value & 0x3F))
    case 0x800..<0x10000:
        bytes.append(UInt8(0xE0 | value >> 12))
        bytes.append(UInt8(0x80 | (value >> 6) & 0x3F))
        bytes.append(UInt8(0x80 | value & 0x3F))
    default:
        bytes.append(UInt8(0xF0 | value >> 18))
        bytes.append(UInt8(0x80 | (value >> 12) & 0x3F))
        bytes.append(UInt8(0x80 | (value >> 6) & 0x3F))
        bytes.append(UInt8(0x80 | value & 0x3F))
    }
}

/// The two merge loops, selectable so tests can check that the fast one agrees with the reference.
@_spi(Testing) public enum MergeAlgorithm: Sendable, CaseIterable {
    case linearScan
    case priorityQueue
}

extension ByteLevelBPETokenizer {
    /// BPE over `bytes` (one pre-tokenized piece) with the chosen merge loop, bypassing pre-tokenization and the cache.
    @_spi(Testing) public func mergeBytes(_ bytes: [UInt8], algorithm: MergeAlgorithm) -> [Int] {
        var scratch = MergeScratch()
        scratch.symbols = bytes.compactMap { byte in
            let id = byteTokenIDs[Int(byte)]
            return id >= 0 ? id : nil
        }
        switch algorithm {
        case .linearScan: mergeWithLinearScan(&scratch)
        case .priorityQueue: mergeWithQueue(&scratch)
        }
        return scratch.symbols.map { Int($0) }
    }
}
