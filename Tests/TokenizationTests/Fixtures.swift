import Foundation
import Tokenization

/// Paths, fixture loading and tiny synthetic vocabularies shared by the Tokenization tests.
enum Fixtures {
    /// The repository root, from this file's location (Tests/TokenizationTests/Fixtures.swift).
    static let repositoryRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// The model cache's models folder, as scripts/fetch-models.sh fills it: `$QUANTA_CACHE/models`, default
    /// `~/.cache/quanta/models`.
    static let modelsDirectory: URL = {
        let cache = ProcessInfo.processInfo.environment["QUANTA_CACHE"] ?? (NSHomeDirectory() + "/.cache/quanta")
        return URL(fileURLWithPath: cache).appendingPathComponent("models")
    }()

    /// SmolLM2-135M-Instruct Q4_1 (fetched by scripts/fetch-models.sh).
    static let smolLM2GGUF = modelsDirectory.appendingPathComponent("SmolLM2-135M-Instruct.Q4_1.gguf")

    /// The `tokenizer.json` that transformers builds from the GGUF (written by
    /// scripts/reference/tokenizer_reference.py; not fetched by CI).
    static let smolLM2TokenizerJSON = modelsDirectory.appendingPathComponent("smollm2-tokenizer.json")

    /// WikiText-2's raw test split in ../shared/data beside the repository; `QUANTA_WIKITEXT` overrides.
    static let wikiTestRaw: URL = {
        if let path = ProcessInfo.processInfo.environment["QUANTA_WIKITEXT"], !path.isEmpty {
            return URL(fileURLWithPath: path)
        }
        return repositoryRoot.appendingPathComponent("../shared/data/wikitext-2/wiki.test.raw").standardizedFileURL
    }()

    static var hasSmolLM2GGUF: Bool { FileManager.default.fileExists(atPath: smolLM2GGUF.path) }
    static var hasSmolLM2Tokenizer: Bool { FileManager.default.fileExists(atPath: smolLM2TokenizerJSON.path) }
    static var hasWikiText: Bool { FileManager.default.fileExists(atPath: wikiTestRaw.path) }

    /// wiki.test.raw's bytes, read once.
    static let wikiTestRawBytes: [UInt8]? = (try? Data(contentsOf: wikiTestRaw)).map { [UInt8]($0) }

    /// Tests/TokenizationTests/Fixtures/smollm2_tokens.json, parsed.
    static let reference: ReferenceFixture = {
        guard
            let url = Bundle.module.url(forResource: "smollm2_tokens", withExtension: "json", subdirectory: "Fixtures")
        else { preconditionFailure("Fixtures/smollm2_tokens.json is missing from the test bundle") }
        do {
            return try JSONDecoder().decode(ReferenceFixture.self, from: Data(contentsOf: url))
        } catch {
            preconditionFailure("Fixtures/smollm2_tokens.json does not parse: \(error)")
        }
    }()

    /// SmolLM2's tokenizer, loaded once from `smolLM2TokenizerJSON` (tests using it are enabled only when it exists).
    static let smolLM2: ByteLevelBPETokenizer? = {
        guard let data = try? Data(contentsOf: smolLM2TokenizerJSON) else { return nil }
        return try? ByteLevelBPETokenizer(tokenizerJSON: data, bosToken: "<|im_start|>", eosToken: "<|im_end|>")
    }()

    /// SmolLM2's GGUF tokenizer metadata, read once (tests using it are enabled only when the file exists).
    static let smolLM2Metadata: GGUFTokenizerMetadata? = try? GGUFTokenizerMetadata(url: smolLM2GGUF)

    /// SmolLM2's tokenizer built from the GGUF's metadata arrays the way the GGUF bridge builds it, with the file's
    /// pre-tokenizer (`smollm`) or, to mirror transformers' GGUF builder, an explicit one.
    static func smolLM2FromGGUF(preTokenizer: PreTokenizer? = nil) throws -> ByteLevelBPETokenizer {
        guard let metadata = smolLM2Metadata else {
            throw GGUFTokenizerMetadata.ReadError(description: "cannot read \(smolLM2GGUF.path)")
        }
        let tokens = try metadata.strings("tokenizer.ggml.tokens")
        let merges = try metadata.strings("tokenizer.ggml.merges")
        let types = try metadata.integers("tokenizer.ggml.token_type").map { Int32($0) }
        let bos = try metadata.integer("tokenizer.ggml.bos_token_id")
        let eos = try metadata.integer("tokenizer.ggml.eos_token_id")
        let addBOS = try metadata.bool("tokenizer.ggml.add_bos_token")
        guard let preTokenizer else {
            return try ByteLevelBPETokenizer(
                tokens: tokens, merges: merges, tokenTypes: types, bosTokenID: bos, eosTokenID: eos, addBOS: addBOS,
                ggufPreTokenizer: try metadata.string("tokenizer.ggml.pre"))
        }
        return try ByteLevelBPETokenizer(
            tokens: tokens, merges: merges, tokenTypes: types, bosTokenID: bos, eosTokenID: eos, addBOS: addBOS,
            preTokenizer: preTokenizer)
    }

    /// `smolLM2FromGGUF()` and `smolLM2FromGGUF(preTokenizer: .gpt2)`, built once.
    static let smolLM2GGUFTokenizers: (smolLM: ByteLevelBPETokenizer, gpt2: ByteLevelBPETokenizer)? = {
        guard let smolLM = try? smolLM2FromGGUF(), let gpt2 = try? smolLM2FromGGUF(preTokenizer: .gpt2) else {
            return nil
        }
        return (smolLM, gpt2)
    }()

    /// The 256 byte-level alphabet tokens in byte order, then one token per merge result, in merge order. Merges are
    /// byte-level spellings (`"Ġ t"`).
    static func tinyTokens(merges: [String]) -> [String] {
        var tokens = (0..<256).map { String(ByteLevelAlphabet.scalar(for: UInt8($0))) }
        for merge in merges {
            let merged = merge.replacingOccurrences(of: " ", with: "")
            if !tokens.contains(merged) { tokens.append(merged) }
        }
        return tokens
    }

    /// A byte-level tokenizer over `tinyTokens(merges:)`, plus `specials` appended as control tokens (GGUF type 3).
    static func tinyTokenizer(
        merges: [String], specials: [String] = [], preTokenizer: PreTokenizer = .gpt2, ignoresMerges: Bool = false
    ) throws -> ByteLevelBPETokenizer {
        let tokens = tinyTokens(merges: merges) + specials
        let types = [Int32](repeating: 1, count: tokens.count - specials.count) + specials.map { _ in 3 }
        return try ByteLevelBPETokenizer(
            tokens: tokens, merges: merges, tokenTypes: types, preTokenizer: preTokenizer, ignoresMerges: ignoresMerges)
    }

    /// The ids of byte-level spelled tokens in `tokenizer`, failing loudly on a typo.
    static func ids(_ tokens: [String], in tokenizer: ByteLevelBPETokenizer) -> [Int] {
        tokens.map { token in
            guard let id = tokenizer.id(for: token) else {
                preconditionFailure("'\(token)' is not in the test vocabulary")
            }
            return id
        }
    }
}

/// Deterministic SplitMix64 generator, so random tests are reproducible.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The layout of Fixtures/smollm2_tokens.json (see scripts/reference/tokenizer_reference.py).
struct ReferenceFixture: Decodable {
    struct HardString: Decodable {
        var text: String
        /// transformers' tokenizer built from the GGUF (GPT-2 pre-tokenizer).
        var ids: [Int]
        /// The same vocabulary with SmolLM2's own pre-tokenizer, Digits(individual) + ByteLevel (llama.cpp `smollm`).
        var idsSmolLMDigits: [Int]
        var decoded: String
        enum CodingKeys: String, CodingKey {
            case text, ids, decoded
            case idsSmolLMDigits = "ids_smollm_digits"
        }
    }
    struct Message: Decodable {
        var role: String
        var content: String
    }
    struct Chat: Decodable {
        var messages: [Message]
        var addGenerationPrompt: Bool
        var text: String
        var ids: [Int]
        enum CodingKeys: String, CodingKey {
            case messages, text, ids
            case addGenerationPrompt = "add_generation_prompt"
        }
    }
    struct WikiEncoding: Decodable {
        var note: String
        var textSHA256: String
        var count: Int
        var firstIDs: [Int]
        var stride: Int
        var stridedIDs: [Int]
        var idsSHA256: String
        enum CodingKeys: String, CodingKey {
            case note, count, stride
            case textSHA256 = "text_sha256"
            case firstIDs = "first_ids"
            case stridedIDs = "strided_ids"
            case idsSHA256 = "ids_sha256"
        }
    }
    struct Wiki: Decodable {
        var file: String
        var fileSHA256: String
        var universalNewlines: WikiEncoding
        var raw: WikiEncoding
        var universalNewlinesSmolLMDigits: WikiEncoding
        enum CodingKeys: String, CodingKey {
            case file, raw
            case fileSHA256 = "file_sha256"
            case universalNewlines = "universal_newlines"
            case universalNewlinesSmolLMDigits = "universal_newlines_smollm_digits"
        }
    }
    var hardStrings: [HardString]
    var pretokenizerSplits: [String: [[String]]]
    var chatTemplate: String
    var chats: [Chat]
    var wiki: Wiki
    enum CodingKeys: String, CodingKey {
        case wiki, chats
        case hardStrings = "hard_strings"
        case pretokenizerSplits = "pretokenizer_splits"
        case chatTemplate = "chat_template"
    }
}
