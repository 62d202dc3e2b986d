import Quantization
import Tokenization

/// Chat formatting for a loaded model: its template and the tokens that end an assistant turn.
public enum ChatPrompt {
    /// The model's chat template, parsed from its Jinja source.
    /// - Throws: `PipelineError.invalidArgument` when the model has none, or the template's error.
    public static func template(for loaded: LoadedModel) throws -> ChatTemplate {
        guard let source = loaded.chatTemplate else {
            throw PipelineError.invalidArgument("\(loaded.path) has no chat template to format the prompt with")
        }
        return try ChatTemplate(jinja: source)
    }

    /// EOS plus the chat end-of-turn markers the vocabulary has (`<|im_end|>`, `<|eot_id|>`, `<|end|>`).
    public static func stopTokenIDs(_ tokenizer: any TextTokenizer) -> Set<Int> {
        var ids = Set<Int>()
        if let eos = tokenizer.eosTokenID { ids.insert(eos) }
        for marker in ["<|im_end|>", "<|eot_id|>", "<|end|>", "<|endoftext|>"] {
            if let id = tokenizer.id(for: marker) { ids.insert(id) }
        }
        return ids
    }
}
