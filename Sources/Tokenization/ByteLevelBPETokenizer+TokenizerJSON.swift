import Foundation
import JSONCore

extension ByteLevelBPETokenizer {
    /// A tokenizer from a Hugging Face `tokenizer.json` (tokenizers 0.13+ serialization) whose model is byte-level BPE.
    ///
    /// Supported: `model.type` `BPE` (vocab, merges as `"a b"` strings or `["a", "b"]` pairs, `unk_token`,
    /// `fuse_unk`, `ignore_merges`); `added_tokens` (`lstrip`, `rstrip`, `normalized`, `special`); no normalizer;
    /// pre-tokenizer `ByteLevel` (last), optionally after `Digits` and `Split` with the GPT-2 or Llama 3 regex, in a
    /// `Sequence`; decoder `ByteLevel`; post-processor `ByteLevel`, `TemplateProcessing` (its `single` template gives
    /// `prefixTokenIDs` and `suffixTokenIDs`) or a `Sequence` of them.
    /// - Parameters:
    ///   - data: the file's bytes.
    ///   - bosToken, eosToken: BOS and EOS token strings (from `tokenizer_config.json`), if wanted; `tokenizer.json`
    ///     itself does not say which tokens they are.
    /// - Throws: `TokenizerError.malformedJSON` naming the key path of a missing or mistyped field;
    ///   `.unsupportedModel`, `.unsupportedPreTokenizer` or `.unsupportedFeature` naming what is not implemented;
    ///   `.invalidMerge` or `.invalidVocabulary` for inconsistent contents.
    public init(tokenizerJSON data: Data, bosToken: String? = nil, eosToken: String? = nil) throws(TokenizerError) {
        let root = try JSONObject.parse(data)
        let model = try root.object("model")
        let modelType = try model.string("type")
        guard modelType == "BPE" else { throw .unsupportedModel(modelType) }
        if let dropout = try model.optionalNumber("dropout"), dropout != 0 {
            throw .unsupportedFeature(component: "model.dropout", detail: "\(dropout) (BPE dropout is random)")
        }
        for key in ["continuing_subword_prefix", "end_of_word_suffix"] {
            if let affix = try model.optionalString(key), !affix.isEmpty {
                throw .unsupportedFeature(component: "model.\(key)", detail: "'\(affix)' (byte-level BPE uses none)")
            }
        }
        if try model.bool("byte_fallback", default: false) {
            throw .unsupportedFeature(
                component: "model.byte_fallback", detail: "true (SentencePiece-style <0xXX> tokens)")
        }

        // Vocabulary: ids must be dense once added tokens are included.
        guard let vocabFields = try model.required("vocab").lastValueByKey else {
            throw .malformedJSON(path: "model.vocab", reason: "expected an object of token -> id")
        }
        var tokensByID: [Int: String] = [:]
        tokensByID.reserveCapacity(vocabFields.count)
        for (token, value) in vocabFields {
            let id = try JSONObject.integer(value, path: "model.vocab.\(token)")
            guard id >= 0 else { throw .malformedJSON(path: "model.vocab.\(token)", reason: "negative id \(id)") }
            if let other = tokensByID[id] {
                throw .invalidVocabulary("id \(id) is given to both '\(other)' and '\(token)'")
            }
            tokensByID[id] = token
        }
        let addedTokens = try Self.parseAddedTokens(root)
        for token in addedTokens where tokensByID[token.id] == nil { tokensByID[token.id] = token.content }
        // Dense ids 0..<n are n distinct keys all below n. Checking that before allocating keeps a huge id (found by
        // fuzzing: 3.5e12 asked for a 28 TB array; Int.max overflowed `max + 1`) a vocabulary error.
        let count = tokensByID.count
        guard count > 0 else { throw .invalidVocabulary("model.vocab is empty") }
        if let largest = tokensByID.keys.max(), largest >= count {
            let missing = (0..<count).first { tokensByID[$0] == nil } ?? count
            throw .invalidVocabulary("no token has id \(missing) (ids must be dense)")
        }
        var tokens: [String] = []
        tokens.reserveCapacity(count)
        for id in 0..<count {
            guard let token = tokensByID[id] else {
                throw .invalidVocabulary("no token has id \(id) (ids must be dense)")
            }
            tokens.append(token)
        }

        let mergePairs = try Self.parseMerges(try model.array("merges"))
        var unknownID: Int?
        if let unknown = try model.optionalString("unk_token") {
            guard let id = vocabFields[unknown] else {
                throw .malformedJSON(path: "model.unk_token", reason: "'\(unknown)' is not in model.vocab")
            }
            unknownID = try JSONObject.integer(id, path: "model.vocab.\(unknown)")
        }

        if let normalizer = root.optional("normalizer") {
            let object = try JSONObject(normalizer, path: "normalizer")
            let type = try object.string("type")
            let isEmptySequence = type == "Sequence" && (try? object.array("normalizers").isEmpty) == true
            if !isEmptySequence { throw .unsupportedFeature(component: "normalizer", detail: type) }
        }
        guard let preTokenizerValue = root.optional("pre_tokenizer") else {
            throw .unsupportedPreTokenizer("none (byte-level BPE needs a ByteLevel pre-tokenizer)")
        }
        let steps = try Self.parsePreTokenizer(preTokenizerValue, path: "pre_tokenizer")
        guard let byteLevel = steps.lastIndex(where: { $0 == nil }), byteLevel == steps.count - 1,
            steps.filter({ $0 == nil }).count == 1
        else {
            throw .unsupportedPreTokenizer("a pipeline that does not end in exactly one ByteLevel step")
        }
        let preTokenizer = PreTokenizer(steps: steps.compactMap { $0 })

        let decoder = try JSONObject(try root.required("decoder"), path: "decoder")
        let decoderType = try decoder.string("type")
        guard decoderType == "ByteLevel" else {
            throw .unsupportedFeature(component: "decoder", detail: "\(decoderType) (expected ByteLevel)")
        }

        var vocabulary: [String: Int] = [:]
        for (id, token) in tokens.enumerated() { vocabulary[token] = id }
        func lookup(_ token: String?, _ role: String) throws(TokenizerError) -> Int? {
            guard let token else { return nil }
            guard let id = vocabulary[token] else {
                throw .invalidVocabulary("\(role) token '\(token)' is not in the vocabulary")
            }
            return id
        }
        let (prefix, suffix) = try Self.parsePostProcessor(root.optional("post_processor"), path: "post_processor")
        for id in prefix + suffix where id < 0 || id >= count {
            throw .tokenIDOutOfRange(role: "post_processor", id: id, vocabularySize: count)
        }

        try self.init(
            tokens: tokens, mergePairs: mergePairs, addedTokens: addedTokens, preTokenizer: preTokenizer,
            bosTokenID: try lookup(bosToken, "BOS"), eosTokenID: try lookup(eosToken, "EOS"), prefixTokenIDs: prefix,
            suffixTokenIDs: suffix, unknownTokenID: unknownID,
            fusesUnknownTokens: try model.bool("fuse_unk", default: false),
            ignoresMerges: try model.bool("ignore_merges", default: false),
            // tokenizers builds its merge map with `collect()` into a HashMap: a repeated pair keeps the last rank.
            keepsFirstDuplicateMerge: false)
    }

    private static func parseAddedTokens(_ root: JSONObject) throws(TokenizerError) -> [AddedToken] {
        guard root.optional("added_tokens") != nil else { return [] }
        var result: [AddedToken] = []
        for (index, item) in try root.array("added_tokens").enumerated() {
            let object = try JSONObject(item, path: "added_tokens[\(index)]")
            let content = try object.string("content")
            if try object.bool("single_word", default: false) {
                throw .unsupportedFeature(
                    component: "added_tokens[\(index)].single_word", detail: "true for '\(content)'")
            }
            let id = try object.int("id")
            guard id >= 0 else { throw .malformedJSON(path: object.keyPath("id"), reason: "negative id \(id)") }
            result.append(
                AddedToken(
                    id: id, content: content, isSpecial: try object.bool("special", default: false),
                    stripsLeft: try object.bool("lstrip", default: false),
                    stripsRight: try object.bool("rstrip", default: false),
                    isNormalized: try object.bool("normalized", default: true)))
        }
        return result
    }

    private static func parseMerges(_ items: [JSONValue]) throws(TokenizerError) -> [(String, String)] {
        var pairs: [(String, String)] = []
        pairs.reserveCapacity(items.count)
        for (index, item) in items.enumerated() {
            switch item {
            case .string(let line):
                // tokenizers' legacy format: exactly two parts around one space.
                let parts = line.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2 else {
                    throw .invalidMerge(index: index, merge: line, reason: "expected two tokens separated by one space")
                }
                pairs.append((String(parts[0]), String(parts[1])))
            case .array(let parts):
                guard parts.count == 2, case .string(let left) = parts[0], case .string(let right) = parts[1] else {
                    throw .malformedJSON(path: "model.merges[\(index)]", reason: "expected a pair of strings")
                }
                pairs.append((left, right))
            default:
                throw .malformedJSON(
                    path: "model.merges[\(index)]", reason: "expected a string or a pair, found \(item.kindName)")
            }
        }
        return pairs
    }

    /// The steps of a pre-tokenizer; `nil` marks the ByteLevel step's byte mapping.
    private static func parsePreTokenizer(_ value: JSONValue, path: String) throws(TokenizerError) -> [PreTokenizer
        .Step?]
    {
        let object = try JSONObject(value, path: path)
        let type = try object.string("type")
        switch type {
        case "Sequence":
            var steps: [PreTokenizer.Step?] = []
            for (index, item) in try object.array("pretokenizers").enumerated() {
                steps += try parsePreTokenizer(item, path: object.keyPath("pretokenizers[\(index)]"))
            }
            return steps
        case "ByteLevel":
            var steps: [PreTokenizer.Step?] = []
            if try object.bool("add_prefix_space", default: true) { steps.append(.addPrefixSpace) }
            if try object.bool("use_regex", default: true) { steps.append(.split(.gpt2)) }
            steps.append(nil)
            return steps
        case "Digits":
            return [.digits(individualDigits: try object.bool("individual_digits", default: false))]
        case "Split":
            let pattern = try object.object("pattern")
            guard let regex = try pattern.optionalString("Regex") else {
                throw .unsupportedPreTokenizer("Split with a literal String pattern")
            }
            guard let known = PreTokenizer.SplitPattern.allCases.first(where: { $0.regex == regex }) else {
                throw .unsupportedPreTokenizer("Split with regex \(regex)")
            }
            let behavior = try object.string("behavior")
            guard behavior == "Isolated", try !object.bool("invert", default: false) else {
                throw .unsupportedPreTokenizer("Split with behavior \(behavior)")
            }
            return [.split(known)]
        default:
            throw .unsupportedPreTokenizer(type)
        }
    }

    /// The ids a post-processor puts before and after a single sequence.
    private static func parsePostProcessor(_ value: JSONValue?, path: String) throws(TokenizerError) -> ([Int], [Int]) {
        guard let value else { return ([], []) }
        let object = try JSONObject(value, path: path)
        let type = try object.string("type")
        switch type {
        case "ByteLevel":
            return ([], [])  // only adjusts offsets
        case "Sequence":
            var prefix: [Int] = []
            var suffix: [Int] = []
            for (index, item) in try object.array("processors").enumerated() {
                let (before, after) = try parsePostProcessor(item, path: object.keyPath("processors[\(index)]"))
                prefix = before + prefix
                suffix += after
            }
            return (prefix, suffix)
        case "TemplateProcessing":
            let specials = try object.object("special_tokens")
            var prefix: [Int] = []
            var suffix: [Int] = []
            var seenSequence = false
            for (index, item) in try object.array("single").enumerated() {
                let piece = try JSONObject(item, path: object.keyPath("single[\(index)]"))
                if piece.optional("Sequence") != nil {
                    guard !seenSequence else {
                        throw .unsupportedFeature(component: "post_processor", detail: "a template with two sequences")
                    }
                    seenSequence = true
                    continue
                }
                let name = try piece.object("SpecialToken").string("id")
                let special = try specials.object(name)
                let ids = try special.array("ids").enumerated().map { (offset, id) throws(TokenizerError) in
                    try JSONObject.integer(id, path: special.keyPath("ids[\(offset)]"))
                }
                if seenSequence { suffix += ids } else { prefix += ids }
            }
            guard seenSequence else {
                throw .malformedJSON(path: object.keyPath("single"), reason: "the template has no Sequence")
            }
            return (prefix, suffix)
        default:
            throw .unsupportedFeature(component: "post_processor", detail: type)
        }
    }
}
