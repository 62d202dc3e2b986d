import Foundation
import ModelFormats
import Quantization

extension CompressedTensorsExport {
    /// Tokenizer files a Hugging Face folder may carry; copied as they are.
    static let tokenizerFileNames = [
        "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json", "vocab.json",
        "merges.txt", "added_tokens.json", "chat_template.jinja",
    ]

    /// Writes the tokenizer files into `directory` and returns their names.
    ///
    /// A source folder with a `tokenizer.json` has its tokenizer files copied byte for byte; a `tokenizer_config.json`
    /// without `tokenizer_class` gets `PreTrainedTokenizerFast` (otherwise transformers picks the Llama tokenizer
    /// class, whose BOS setting overrides the one in tokenizer.json). A GGUF source (or a folder without
    /// tokenizer.json) gets Quanta's `tokenizer.json` (`ByteLevelBPETokenizer.tokenizerJSON()`, same ids as the
    /// GGUF vocabulary), a `tokenizer_config.json` with that class, BOS/EOS tokens and the chat template, and a
    /// `generation_config.json` with the BOS/EOS ids. A model without a tokenizer gets none.
    static func writeTokenizer(_ loaded: LoadedModel, into directory: String) throws -> [String] {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        let source = loaded.path
        if manager.fileExists(atPath: source, isDirectory: &isDirectory), isDirectory.boolValue,
            manager.fileExists(atPath: source + "/tokenizer.json")
        {
            var written: [String] = []
            for name in tokenizerFileNames where manager.fileExists(atPath: source + "/" + name) {
                guard var data = manager.contents(atPath: source + "/" + name) else {
                    throw CocoaError(.fileReadUnknown, userInfo: [NSFilePathErrorKey: source + "/" + name])
                }
                if name == "tokenizer_config.json" { data = try withTokenizerClass(data, path: source + "/" + name) }
                try AtomicFile.write(data, to: directory + "/" + name)
                written.append(name)
            }
            if !written.contains("tokenizer_config.json") {
                try AtomicFile.write(try generatedTokenizerConfig(loaded), to: directory + "/tokenizer_config.json")
                written.append("tokenizer_config.json")
            }
            return written
        }
        guard let tokenizer = loaded.tokenizer else { return [] }
        try AtomicFile.write(try tokenizer.tokenizerJSON(), to: directory + "/tokenizer.json")
        try AtomicFile.write(try generatedTokenizerConfig(loaded), to: directory + "/tokenizer_config.json")
        var generation: [String: Int] = [:]
        if let bos = tokenizer.bosTokenID { generation["bos_token_id"] = bos }
        if let eos = tokenizer.eosTokenID { generation["eos_token_id"] = eos }
        try AtomicFile.write(try sortedJSON(generation), to: directory + "/generation_config.json")
        return ["tokenizer.json", "tokenizer_config.json", "generation_config.json"]
    }

    static func generatedTokenizerConfig(_ loaded: LoadedModel) throws -> Data {
        var config: [String: String] = ["tokenizer_class": "PreTrainedTokenizerFast"]
        if let template = loaded.chatTemplate { config["chat_template"] = template }
        if let tokenizer = loaded.tokenizer {
            if let bos = tokenizer.bosTokenID.flatMap(tokenizer.token(for:)) { config["bos_token"] = bos }
            if let eos = tokenizer.eosTokenID.flatMap(tokenizer.token(for:)) { config["eos_token"] = eos }
        }
        return try sortedJSON(config)
    }

    /// `data` (a tokenizer_config.json) with `tokenizer_class` set when it has none.
    static func withTokenizerClass(_ data: Data, path: String) throws -> Data {
        guard var object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw QuantizationError.invalidFolder(path: path, reason: "not a JSON object")
        }
        guard object["tokenizer_class"] == nil else { return data }
        object["tokenizer_class"] = "PreTrainedTokenizerFast"
        return try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
    }

    static func sortedJSON<T: Encodable>(_ value: T) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(value)
    }
}
