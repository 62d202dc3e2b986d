import Testing
import Tokenization

@Suite("Chat template")
struct ChatTemplateTests {
    @Test func smolLM2PutsItsDefaultSystemMessageFirst() {
        let text = ChatTemplate.smolLM2.render([ChatMessage(role: "user", content: "Hi")])
        #expect(
            text
                == "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face"
                + "<|im_end|>\n"
                + "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
    }

    @Test func aGivenSystemMessageReplacesTheDefault() {
        let messages = [ChatMessage(role: "system", content: "Be brief."), ChatMessage(role: "user", content: "Hi")]
        #expect(
            ChatTemplate.smolLM2.render(messages, addGenerationPrompt: false)
                == "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n")
    }

    @Test func noMessagesGiveOnlyTheGenerationPrompt() {
        #expect(ChatTemplate.smolLM2.render([]) == "<|im_start|>assistant\n")
        #expect(ChatTemplate.smolLM2.render([], addGenerationPrompt: false) == "")
    }

    @Test func theGGUFTemplateIsRecognised() throws {
        #expect(try ChatTemplate(jinja: Fixtures.reference.chatTemplate) == .smolLM2)
    }

    @Test func plainChatMLIsRecognised() throws {
        let source =
            "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + "
            + "'<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}"
            + "{% endif %}"
        let template = try ChatTemplate(jinja: source)
        #expect(template.defaultSystemPrompt == nil)
        #expect(
            template.render([ChatMessage(role: "user", content: "x")])
                == "<|im_start|>user\nx<|im_end|>\n<|im_start|>assistant\n")
    }

    @Test func otherTemplatesAreErrors() {
        let llama =
            "{{ bos_token }}{% for message in messages %}{{ '<|start_header_id|>' + message['role'] }}{% endfor %}"
        #expect(throws: TokenizerError.unsupportedChatTemplate(String(llama.prefix(80)))) {
            try ChatTemplate(jinja: llama)
        }
    }

    /// The rendered text equals jinja2's rendering of the GGUF template (from the fixture).
    @Test func renderingMatchesJinja() throws {
        let template = try ChatTemplate(jinja: Fixtures.reference.chatTemplate)
        for chat in Fixtures.reference.chats {
            let messages = chat.messages.map { ChatMessage(role: $0.role, content: $0.content) }
            #expect(template.render(messages, addGenerationPrompt: chat.addGenerationPrompt) == chat.text)
        }
    }
}
