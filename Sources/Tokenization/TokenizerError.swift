/// Everything that can be wrong with a tokenizer description (GGUF metadata arrays, a Hugging Face
/// `tokenizer.json`, a chat template) or with a request made to a tokenizer. Messages say what failed, where (key,
/// index) and what was expected versus found.
public enum TokenizerError: Error, Equatable, CustomStringConvertible {
    /// A pre-tokenizer this module does not implement: a GGUF `tokenizer.ggml.pre` name or a `tokenizer.json`
    /// `pre_tokenizer` (type or regex).
    case unsupportedPreTokenizer(String)
    /// A `tokenizer.json` `model.type` (or GGUF `tokenizer.ggml.model`) other than byte-level BPE.
    case unsupportedModel(String)
    /// Another component or option this module does not implement (normalizer, decoder, post-processor, BPE
    /// dropout, added-token flags); `component` names the JSON key, `detail` what was found.
    case unsupportedFeature(component: String, detail: String)
    /// A `tokenizer.json` that is not valid JSON or lacks a required field; `path` is the key path.
    case malformedJSON(path: String, reason: String)
    /// A merge rule that is not two tokens separated by one space, or whose parts or result are not in the vocabulary.
    case invalidMerge(index: Int, merge: String, reason: String)
    /// Two parallel arrays disagree in length (`tokenizer.ggml.token_type` versus `tokenizer.ggml.tokens`).
    case countMismatch(what: String, expected: Int, found: Int)
    /// A token type outside GGUF's `llama_token_type` (0 undefined ... 6 byte).
    case invalidTokenType(index: Int, type: Int32)
    /// A token id (BOS, EOS, an added token, or one passed to `decode`) outside `0..<vocabularySize`.
    case tokenIDOutOfRange(role: String, id: Int, vocabularySize: Int)
    /// A vocabulary with no tokens, or whose ids leave a gap.
    case invalidVocabulary(String)
    /// A Jinja chat template that `ChatTemplate` does not recognise; carries its first characters.
    case unsupportedChatTemplate(String)
    /// A tokenizer that a `tokenizer.json` cannot describe exactly (`ByteLevelBPETokenizer.tokenizerJSON()`);
    /// `component` names the JSON key that cannot hold it, `reason` what is in the way.
    case notExportable(component: String, reason: String)

    public var description: String {
        switch self {
        case .unsupportedPreTokenizer(let name):
            "unsupported pre-tokenizer '\(name)' (supported GGUF names: "
                + PreTokenizer.supportedGGUFNames.joined(separator: ", ")
                + "; tokenizer.json: ByteLevel, Digits, Split with the GPT-2 or Llama 3 regex, Sequence of these)"
        case .unsupportedModel(let type):
            "unsupported tokenizer model '\(type)': only byte-level BPE (GGUF 'gpt2', tokenizer.json 'BPE') "
                + "is implemented"
        case .unsupportedFeature(let component, let detail):
            "unsupported \(component): \(detail)"
        case .malformedJSON(let path, let reason):
            "tokenizer.json: \(path.isEmpty ? "<root>" : path): \(reason)"
        case .invalidMerge(let index, let merge, let reason):
            "merge #\(index) '\(merge)': \(reason)"
        case .countMismatch(let what, let expected, let found):
            "\(what): expected \(expected) entries, found \(found)"
        case .invalidTokenType(let index, let type):
            "token #\(index) has token type \(type); expected 0...6 (GGUF llama_token_type)"
        case .tokenIDOutOfRange(let role, let id, let vocabularySize):
            "\(role) token id \(id) is outside the vocabulary 0..<\(vocabularySize)"
        case .invalidVocabulary(let reason):
            "invalid vocabulary: \(reason)"
        case .unsupportedChatTemplate(let prefix):
            "unsupported chat template (only ChatML templates are recognised): '\(prefix)...'"
        case .notExportable(let component, let reason):
            "cannot write tokenizer.json: \(component): \(reason)"
        }
    }
}
