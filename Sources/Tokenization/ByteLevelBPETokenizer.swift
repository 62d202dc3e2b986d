/// GPT-2 style byte-level BPE (Radford et al. 2019, §2.2; Sennrich et al. 2016): text is cut into added tokens and
/// pre-tokenized pieces, each piece's UTF-8 bytes start as one token per byte (`ByteLevelAlphabet`), and merge rules
/// are applied lowest rank first until none applies.
///
/// Token ids match Hugging Face tokenizers (`tokenizer.json` model `BPE`) and llama.cpp (`tokenizer.ggml.model =
/// gpt2`); where those two differ the GGUF initializer follows llama.cpp and the `tokenizer.json` one follows Hugging
/// Face (which duplicate merge rule wins, which token types are matched whole). Bytes with no token of their own
/// (SmolLM2 has none for 21 bytes, such as 0x04 or the UTF-8 lead byte 0xF3) are dropped, as both references drop them;
/// `bytesWithoutToken` lists them.
public struct ByteLevelBPETokenizer: Sendable {
    /// The pre-tokenizer that cuts text (between added tokens) into pieces.
    public let preTokenizer: PreTokenizer
    /// The beginning-of-sequence token id, if the vocabulary has one.
    public let bosTokenID: Int?
    /// The end-of-sequence token id, if the vocabulary has one.
    public let eosTokenID: Int?
    /// Ids put before the text when `encode(_:addSpecialTokens: true)` (BOS when GGUF `add_bos_token` is true).
    public let prefixTokenIDs: [Int]
    /// Ids put after the text when `encode(_:addSpecialTokens: true)` (EOS when GGUF `add_eos_token` is true).
    public let suffixTokenIDs: [Int]
    /// Tokens matched whole in the text before pre-tokenization, in vocabulary order.
    public let addedTokens: [AddedToken]
    /// When true, a piece that is itself in the vocabulary becomes that token without merging (Hugging Face
    /// `ignore_merges`; llama.cpp does this for Llama 3).
    public var ignoresMerges: Bool { model.ignoresMerges }
    /// The token for bytes that have none (Hugging Face `unk_token`); nil drops such bytes.
    public var unknownTokenID: Int? { model.unknownTokenID }
    /// Consecutive unknown bytes become one unknown token (Hugging Face `fuse_unk`).
    public var fusesUnknownTokens: Bool { model.fusesUnknownTokens }

    let tokens: [String]
    let model: BPEModel
    /// Token `i`'s decoded bytes are `tokenBytes[tokenByteOffsets[i]..<tokenByteOffsets[i + 1]]`.
    let tokenBytes: [UInt8]
    let tokenByteOffsets: [Int]
    let specialFlags: [Bool]
    /// Added tokens with `isNormalized == false`, matched first, and those with `true`, matched in what remains.
    let rawAddedTokens: AddedTokenMatcher
    let normalizedAddedTokens: AddedTokenMatcher

    /// A tokenizer from GGUF metadata arrays (`tokenizer.ggml.tokens`, `.merges`, `.token_type`, `.bos_token_id`,
    /// `.eos_token_id`, `.add_bos_token`, `.add_eos_token`, `.pre`), as llama.cpp's `llama_vocab::load` reads them for
    /// `tokenizer.ggml.model = gpt2`.
    /// - Parameters:
    ///   - tokens: token strings by id, in byte-level spelling (`Ġthe`); control tokens as plain text (`<|im_end|>`).
    ///   - merges: merge rules, best first, each two tokens joined by one space (`"Ġ t"`).
    ///   - tokenTypes: GGUF `llama_token_type` per token (1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused,
    ///     6 byte), or empty when the file has none. Types 2, 3 (special) and 4 (not special) are matched whole in the
    ///     text, like llama.cpp's special-token cache.
    ///   - bosTokenID, eosTokenID: ids from the metadata, if present.
    ///   - addBOS, addEOS: whether `encode(_:addSpecialTokens: true)` adds BOS before / EOS after the text.
    ///   - ggufPreTokenizer: the `tokenizer.ggml.pre` value (`smollm`, `gpt2`, `llama-bpe`, ...).
    /// - Throws: `TokenizerError.unsupportedPreTokenizer` naming an unknown `ggufPreTokenizer`; `.countMismatch`,
    ///   `.invalidTokenType`, `.invalidMerge` or `.tokenIDOutOfRange` for inconsistent arrays.
    public init(
        tokens: [String], merges: [String], tokenTypes: [Int32], bosTokenID: Int?, eosTokenID: Int?,
        addBOS: Bool, addEOS: Bool = false, ggufPreTokenizer: String
    ) throws(TokenizerError) {
        let preTokenizer = try PreTokenizer(ggufName: ggufPreTokenizer)
        try self.init(
            tokens: tokens, merges: merges, tokenTypes: tokenTypes, bosTokenID: bosTokenID, eosTokenID: eosTokenID,
            addBOS: addBOS, addEOS: addEOS, preTokenizer: preTokenizer,
            // llama.cpp sets `ignore_merges` for the Llama 3 pre-tokenizer only.
            ignoresMerges: preTokenizer == .llama3)
    }

    /// A tokenizer from vocabulary arrays in GGUF's layout with an explicit pre-tokenizer; see
    /// `init(tokens:merges:tokenTypes:bosTokenID:eosTokenID:addBOS:addEOS:ggufPreTokenizer:)`.
    public init(
        tokens: [String], merges: [String], tokenTypes: [Int32] = [], bosTokenID: Int? = nil, eosTokenID: Int? = nil,
        addBOS: Bool = false, addEOS: Bool = false, preTokenizer: PreTokenizer, ignoresMerges: Bool = false
    ) throws(TokenizerError) {
        guard tokenTypes.isEmpty || tokenTypes.count == tokens.count else {
            throw .countMismatch(what: "tokenizer.ggml.token_type", expected: tokens.count, found: tokenTypes.count)
        }
        var added: [AddedToken] = []
        for (index, type) in tokenTypes.enumerated() {
            guard (0...6).contains(type) else { throw .invalidTokenType(index: index, type: type) }
            // 2 unknown and 3 control are special; 4 user-defined is matched whole but is not special.
            if type == 2 || type == 3 || type == 4 {
                added.append(AddedToken(id: index, content: tokens[index], isSpecial: type != 4))
            }
        }
        var pairs: [(String, String)] = []
        pairs.reserveCapacity(merges.count)
        for (index, merge) in merges.enumerated() {
            // llama.cpp splits at the first space after the first byte, so a left part may start with a space.
            let utf8 = Array(merge.utf8)
            guard utf8.count >= 3, let space = utf8[1...].firstIndex(of: 0x20) else {
                throw .invalidMerge(index: index, merge: merge, reason: "expected two tokens separated by a space")
            }
            let left = String(decoding: utf8[..<space], as: UTF8.self)
            let right = String(decoding: utf8[(space + 1)...], as: UTF8.self)
            pairs.append((left, right))
        }
        func checked(_ id: Int?, _ role: String) throws(TokenizerError) -> Int? {
            guard let id else { return nil }
            guard id >= 0 && id < tokens.count else {
                throw .tokenIDOutOfRange(role: role, id: id, vocabularySize: tokens.count)
            }
            return id
        }
        let bos = try checked(bosTokenID, "tokenizer.ggml.bos_token_id")
        let eos = try checked(eosTokenID, "tokenizer.ggml.eos_token_id")
        var prefix: [Int] = []
        var suffix: [Int] = []
        if addBOS {
            guard let bos else { throw .invalidVocabulary("add_bos_token is true but there is no BOS token id") }
            prefix = [bos]
        }
        if addEOS {
            guard let eos else { throw .invalidVocabulary("add_eos_token is true but there is no EOS token id") }
            suffix = [eos]
        }
        try self.init(
            tokens: tokens, mergePairs: pairs, addedTokens: added, preTokenizer: preTokenizer, bosTokenID: bos,
            eosTokenID: eos, prefixTokenIDs: prefix, suffixTokenIDs: suffix, unknownTokenID: nil,
            fusesUnknownTokens: false, ignoresMerges: ignoresMerges, keepsFirstDuplicateMerge: true)
    }

    /// The designated initializer: every other one validates its source and comes here.
    init(
        tokens: [String], mergePairs: [(String, String)], addedTokens: [AddedToken], preTokenizer: PreTokenizer,
        bosTokenID: Int?, eosTokenID: Int?, prefixTokenIDs: [Int], suffixTokenIDs: [Int], unknownTokenID: Int?,
        fusesUnknownTokens: Bool, ignoresMerges: Bool, keepsFirstDuplicateMerge: Bool
    ) throws(TokenizerError) {
        guard !tokens.isEmpty else { throw .invalidVocabulary("the vocabulary has no tokens") }
        guard tokens.count < Int(Int32.max) else { throw .invalidVocabulary("\(tokens.count) tokens exceed Int32") }
        var vocabulary: [String: Int] = [:]
        vocabulary.reserveCapacity(tokens.count)
        // A repeated token string maps to its last id, as in llama.cpp's `token_to_id` and Hugging Face's vocab map.
        for (id, token) in tokens.enumerated() { vocabulary[token] = id }

        var table = MergeTable(capacity: mergePairs.count)
        for (rank, (left, right)) in mergePairs.enumerated() {
            func id(_ token: String) throws(TokenizerError) -> Int32 {
                guard let id = vocabulary[token] else {
                    throw .invalidMerge(
                        index: rank, merge: "\(left) \(right)", reason: "'\(token)' is not in the vocabulary")
                }
                return Int32(id)
            }
            let leftID = try id(left)
            let rightID = try id(right)
            let resultID = try id(left + right)
            table.insert(
                left: leftID, right: rightID, rank: Int32(rank), result: resultID, keepFirst: keepsFirstDuplicateMerge)
        }

        var flags = [Bool](repeating: false, count: tokens.count)
        var addedContent: [Int: String] = [:]
        for token in addedTokens {
            guard token.id >= 0 && token.id < tokens.count else {
                throw .tokenIDOutOfRange(
                    role: "added token '\(token.content)'", id: token.id, vocabularySize: tokens.count)
            }
            flags[token.id] = token.isSpecial
            addedContent[token.id] = token.content
        }
        var bytes: [UInt8] = []
        var offsets: [Int] = [0]
        offsets.reserveCapacity(tokens.count + 1)
        for (id, token) in tokens.enumerated() {
            // Added tokens are text, not byte-level spellings (llama.cpp's control and user-defined pieces).
            if let content = addedContent[id] {
                bytes.append(contentsOf: content.utf8)
            } else {
                bytes.append(contentsOf: ByteLevelAlphabet.bytes(ofToken: token))
            }
            offsets.append(bytes.count)
        }

        self.preTokenizer = preTokenizer
        self.bosTokenID = bosTokenID
        self.eosTokenID = eosTokenID
        self.prefixTokenIDs = prefixTokenIDs
        self.suffixTokenIDs = suffixTokenIDs
        self.addedTokens = addedTokens.sorted { $0.id < $1.id }
        self.tokens = tokens
        model = BPEModel(
            vocabulary: vocabulary, merges: table, ignoresMerges: ignoresMerges, unknownTokenID: unknownTokenID,
            fusesUnknownTokens: fusesUnknownTokens)
        tokenBytes = bytes
        tokenByteOffsets = offsets
        specialFlags = flags
        rawAddedTokens = AddedTokenMatcher(addedTokens.filter { !$0.isNormalized })
        normalizedAddedTokens = AddedTokenMatcher(addedTokens.filter(\.isNormalized))
    }

    /// The number of token ids, `0..<vocabularySize`.
    public var vocabularySize: Int { tokens.count }

    /// The number of merge rules in use (after duplicates are dropped).
    public var mergeCount: Int { model.merges.count }

    /// The token string of `id` as the vocabulary spells it (`Ġthe`), or nil when out of range.
    public func token(for id: Int) -> String? {
        id >= 0 && id < tokens.count ? tokens[id] : nil
    }

    /// The BOS token's string (`<|im_start|>` for SmolLM2), for `tokenizer_config.json`'s `bos_token`; nil without one.
    public var bosToken: String? { bosTokenID.map { tokens[$0] } }

    /// The EOS token's string (`<|im_end|>` for SmolLM2), for `tokenizer_config.json`'s `eos_token`; nil without one.
    public var eosToken: String? { eosTokenID.map { tokens[$0] } }

    /// The id of a token spelled as in the vocabulary (`Ġthe`, `<|im_end|>`), or nil.
    public func id(for token: String) -> Int? { model.vocabulary[token] }

    /// Whether `id` is a special token (GGUF control or unknown type; `tokenizer.json` `"special": true`).
    public func isSpecial(_ id: Int) -> Bool { id >= 0 && id < specialFlags.count && specialFlags[id] }

    /// Bytes whose alphabet scalar has no token: `encode` drops them (or emits `unknownTokenID`).
    public var bytesWithoutToken: [UInt8] {
        (0..<256).filter { model.byteTokenIDs[$0] < 0 }.map { UInt8($0) }
    }
}
