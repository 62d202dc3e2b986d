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
        var session = EncodingSession(model: model)
        session.output.reserveCapacity(text.utf8.count / 3 + 8)
        if addSpecialTokens { session.output += prefixTokenIDs }
        let bytes = Array(text.utf8)
        bytes.withUnsafeBufferPointer { bytes in
            let whole = 0..<bytes.count
            let segments =
                rawAddedTokens.isEmpty
                ? [AddedTokenMatcher.Segment(range: whole, tokenID: nil)]
                : rawAddedTokens.split(bytes, range: whole, parseSpecialTokens: parseSpecialTokens)
            for segment in segments {
                if let id = segment.tokenID {
                    session.output.append(id)
                    continue
                }
                guard !normalizedAddedTokens.isEmpty else {
                    encodeText(bytes, range: segment.range, session: &session)
                    continue
                }
                let inner = normalizedAddedTokens.split(
                    bytes, range: segment.range, parseSpecialTokens: parseSpecialTokens)
                for piece in inner {
                    if let id = piece.tokenID {
                        session.output.append(id)
                    } else {
                        encodeText(bytes, range: piece.range, session: &session)
                    }
                }
            }
        }
        if addSpecialTokens { session.output += suffixTokenIDs }
        return session.output
    }

    /// Pre-tokenizes and merges `bytes[range]`, which holds no added token.
    private func encodeText(_ bytes: UnsafeBufferPointer<UInt8>, range: Range<Int>, session: inout EncodingSession) {
        var scalars: [UInt32] = []
        var classes: [UInt8] = []
        swap(&scalars, &session.scalars)
        swap(&classes, &session.classes)
        scalars.removeAll(keepingCapacity: true)
        classes.removeAll(keepingCapacity: true)
        var position = range.lowerBound
        while position < range.upperBound {
            let (value, length) = UTF8Scanner.decode(bytes, at: position)
            scalars.append(value)
            classes.append(ScalarClass.of(value))
            position += length
        }
        scalars.withUnsafeBufferPointer { scalarBuffer in
            classes.withUnsafeBufferPointer { classBuffer in
                preTokenizer.forEachPiece(scalars: scalarBuffer, classes: classBuffer, into: &session)
            }
        }
        swap(&scalars, &session.scalars)
        swap(&classes, &session.classes)
    }
}

/// Per-call state of `encode`: the output, the piece cache and scratch buffers. It receives the pre-tokenizer's
/// pieces and merges each one.
struct EncodingSession: PieceConsumer {
    let model: BPEModel
    var output: [Int] = []
    var cache: [String: [Int]] = [:]
    var pieceBytes: [UInt8] = []
    var scratch = MergeScratch()
    var scalars: [UInt32] = []
    var classes: [UInt8] = []

    init(model: BPEModel) {
        self.model = model
    }

    mutating func consume(_ piece: UnsafeBufferPointer<UInt32>) {
        pieceBytes.removeAll(keepingCapacity: true)
        for value in piece { appendUTF8(value, to: &pieceBytes) }
        // Keys of up to 15 UTF-8 bytes (most words) are stored inline in `String`, without allocating.
        let key = String(decoding: pieceBytes, as: UTF8.self)
        if let cached = cache[key] {
            output.append(contentsOf: cached)
            return
        }
        let start = output.count
        model.merge(pieceBytes, scratch: &scratch, into: &output)
        cache[key] = Array(output[start...])
    }
}

/// The two merge loops, selectable so tests can check that the fast one agrees with the reference.
@_spi(Testing) public enum MergeAlgorithm: Sendable, CaseIterable {
    /// Rescan all adjacent pairs after each merge (the reference; used for pieces of up to 48 bytes).
    case linearScan
    /// Binary heap over a linked list of symbols (used for longer pieces).
    case priorityQueue
}

extension ByteLevelBPETokenizer {
    /// BPE over `bytes` (one pre-tokenized piece) with the chosen merge loop, bypassing pre-tokenization and the cache.
    @_spi(Testing) public func mergeBytes(_ bytes: [UInt8], algorithm: MergeAlgorithm) -> [Int] {
        var scratch = MergeScratch()
        scratch.symbols = bytes.compactMap { byte in
            let id = model.byteTokenIDs[Int(byte)]
            return id >= 0 ? id : nil
        }
        switch algorithm {
        case .linearScan: model.mergeWithLinearScan(&scratch)
        case .priorityQueue: model.mergeWithQueue(&scratch)
        }
        return scratch.symbols.map { Int($0) }
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
