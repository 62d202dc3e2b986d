/// chat-template seeds: the two recognised ChatML templates (plain, and SmolLM2's with a default system message)
/// followed by messages, and an unrecognised template.
enum ChatTemplateSeeds {
    static let loop =
        "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
        + "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
    static let plain = "{% for message in messages %}" + loop
    static let smolLM2 =
        "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
        + "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face"
        + "<|im_end|>\n' }}{% endif %}" + loop

    static func write(_ seeds: SeedWriter) throws {
        let messages: [UInt8] = Array("user".utf8) + [2] + Array("Hello!".utf8) + [1] + Array("assistant".utf8) + [2]
            + Array("Hi.".utf8)
        try seeds.write("chat-template", "plain.bin", Array(plain.utf8) + [0] + messages)
        try seeds.write("chat-template", "smollm2.bin", Array(smolLM2.utf8) + [0] + messages)
        try seeds.write("chat-template", "system-first.bin",
                        Array(smolLM2.utf8) + [0] + Array("system".utf8) + [2] + Array("Be brief.".utf8) + [1] + messages)
        try seeds.write("chat-template", "unknown.bin", Array("{{ bos_token }}{% for m in messages %}".utf8) + [0] + messages)
    }
}
