import FuzzSupport
import Tokenization

/// The chat template: the input up to the first 0x00 byte is Jinja source for `ChatTemplate(jinja:)` (SmolLM2's
/// template when it is not recognised); the rest is messages separated by 0x01, each `role 0x02 content`, rendered
/// with and without the generation prompt.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzChatTemplate(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    let split = bytes.firstIndex(of: 0) ?? size
    let source = String(decoding: bytes[..<split], as: UTF8.self)
    let template = (try? ChatTemplate(jinja: source)) ?? .smolLM2
    let rest = split < size ? Array(bytes[(split + 1)...]) : []
    let messages = rest.split(separator: 1, omittingEmptySubsequences: false).map { record -> ChatMessage in
        let fields = record.split(separator: 2, maxSplits: 1, omittingEmptySubsequences: false)
        let role = String(decoding: fields.first ?? [], as: UTF8.self)
        let content = fields.count > 1 ? String(decoding: fields[1], as: UTF8.self) : ""
        return ChatMessage(role: role, content: content)
    }
    _ = template.render(messages, addGenerationPrompt: true)
    _ = template.render(messages, addGenerationPrompt: false)
    return 0
}

/// The program's entry (see `FuzzDriver`).
@_cdecl("fuzz_chat_template_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    FuzzDriver.run(argc, argv, fuzzChatTemplate)
}
