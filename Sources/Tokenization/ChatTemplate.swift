/// One message of a conversation.
public struct ChatMessage: Sendable, Equatable, Hashable {
    /// `system`, `user`, `assistant` or any other role the model knows.
    public var role: String
    /// The message text.
    public var content: String

    /// A message from `role`.
    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
}

/// The ChatML prompt format (`<|im_start|>role\ncontent<|im_end|>\n`) that SmolLM2 and Qwen use, rendered in Swift
/// instead of by a Jinja interpreter.
///
/// It reproduces two Jinja templates exactly: plain ChatML, and SmolLM2's GGUF `tokenizer.chat_template`, which puts
/// a default system message first when the first message is not from `system`:
/// `{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\n`
/// *default*`<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] +
/// '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}`.
public struct ChatTemplate: Sendable, Equatable {
    /// The system message put first when the conversation does not start with one; nil for plain ChatML.
    public var defaultSystemPrompt: String?

    /// ChatML with an optional default system message.
    public init(defaultSystemPrompt: String? = nil) {
        self.defaultSystemPrompt = defaultSystemPrompt
    }

    /// SmolLM2-Instruct's template (from its GGUF's `tokenizer.chat_template`).
    public static let smolLM2 = ChatTemplate(
        defaultSystemPrompt: "You are a helpful AI assistant named SmolLM, trained by Hugging Face")

    private static let defaultSystemPrefix =
        "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
        + "{{ '<|im_start|>system\n"
    private static let defaultSystemSuffix = "<|im_end|>\n' }}{% endif %}" + messageLoopBody
    private static let messageLoopBody =
        "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
        + "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
    private static let plainChatML = "{% for message in messages %}" + messageLoopBody

    /// The template a model file carries as Jinja source (GGUF `tokenizer.chat_template`, `tokenizer_config.json`
    /// `chat_template`), when it is one of the two recognised ChatML templates.
    /// - Throws: `TokenizerError.unsupportedChatTemplate` with the template's start for any other template.
    public init(jinja source: String) throws(TokenizerError) {
        if source == Self.plainChatML {
            self.init(defaultSystemPrompt: nil)
            return
        }
        if source.hasPrefix(Self.defaultSystemPrefix), source.hasSuffix(Self.defaultSystemSuffix),
            source.utf8.count >= Self.defaultSystemPrefix.utf8.count + Self.defaultSystemSuffix.utf8.count
        {
            let utf8 = Array(source.utf8)
            let prompt = String(
                decoding: utf8[
                    Self.defaultSystemPrefix.utf8.count..<(utf8.count - Self.defaultSystemSuffix.utf8.count)],
                as: UTF8.self)
            // A quote or a Jinja delimiter would mean the "prompt" is really more template code.
            if !prompt.contains("'") && !prompt.contains("{") && !prompt.contains("}") {
                self.init(defaultSystemPrompt: prompt)
                return
            }
        }
        throw .unsupportedChatTemplate(String(source.prefix(80)))
    }

    /// The prompt text for `messages`, ending with `<|im_start|>assistant\n` when `addGenerationPrompt`.
    /// Encode it with `parseSpecialTokens: true` so the markers become their control tokens.
    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool = true) -> String {
        var text = ""
        for (index, message) in messages.enumerated() {
            if index == 0, let defaultSystemPrompt, message.role != "system" {
                text += "<|im_start|>system\n\(defaultSystemPrompt)<|im_end|>\n"
            }
            text += "<|im_start|>\(message.role)\n\(message.content)<|im_end|>\n"
        }
        if addGenerationPrompt { text += "<|im_start|>assistant\n" }
        return text
    }
}
