import Foundation
import TestSupport
import Tokenization

/// tokenizer.json seeds (the tiny byte-level vocabulary as written by TestSupport, and variants with a `Sequence`
/// pre-tokenizer, `TemplateProcessing` and pair merges), and tokenizer-encode inputs (text with and without control
/// tokens, id lists).
enum TokenizerSeeds {
    static func write(_ seeds: SeedWriter) throws {
        let directory = NSTemporaryDirectory() + "/quanta-fuzz-seeds-tok-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try TinyModelFiles.writeHuggingFaceFolder(to: directory, configuration: TinyModelFiles.configuration())
        let base = try Data(contentsOf: URL(fileURLWithPath: directory + "/tokenizer.json"))
        try seeds.write("tokenizer-json", "tiny.json", [UInt8](base))
        var json = try JSONSerialization.jsonObject(with: base) as! [String: Any]
        json["pre_tokenizer"] = [
            "type": "Sequence",
            "pretokenizers": [
                ["type": "Digits", "individual_digits": true],
                ["type": "Split", "pattern": ["Regex": "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"],
                 "behavior": "Isolated", "invert": false],
                ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false],
            ],
        ]
        json["post_processor"] = [
            "type": "TemplateProcessing",
            "single": [["SpecialToken": ["id": "<|endoftext|>", "type_id": 0]], ["Sequence": ["id": "A", "type_id": 0]]],
            "pair": [["Sequence": ["id": "A", "type_id": 0]], ["Sequence": ["id": "B", "type_id": 1]]],
            "special_tokens": ["<|endoftext|>": ["id": "<|endoftext|>", "ids": [260], "tokens": ["<|endoftext|>"]]],
        ]
        var model = json["model"] as! [String: Any]
        model["merges"] = (model["merges"] as! [String]).map { $0.split(separator: " ").map(String.init) }
        json["model"] = model
        try seeds.write("tokenizer-json", "sequence-template.json",
                        [UInt8](try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys])))

        let texts = ["the theme in the text", "<|im_start|>user\nHi 123<|im_end|>\n", "héllo 🙂\t\n  x", "<|endoftext|>"]
        for (index, text) in texts.enumerated() {
            try seeds.write("tokenizer-encode", "text-\(index).bin", [UInt8(index % 2 == 0 ? 2 : 6)] + Array(text.utf8))
        }
        let ids: [Int32] = [0, 1, 255, 256, 270, 271, 272, 273, -1, 100_000]
        let idBytes = ids.flatMap { id in (0..<4).map { UInt8(truncatingIfNeeded: UInt32(bitPattern: id) >> (8 * $0)) } }
        try seeds.write("tokenizer-encode", "ids.bin", [1] + idBytes)
        try seeds.write("tokenizer-encode", "ids-skip.bin", [3] + idBytes)
    }
}
