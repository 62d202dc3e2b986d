import Foundation
import FuzzSupport
import Tokenization

/// tokenizer.json loading (model, vocabulary, merges, added tokens, pre-tokenizers, post-processor, decoder); a
/// tokenizer that loads also encodes a fixed text with special tokens and decodes the ids back.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTokenizerJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Data(bytes: data, count: size)
    guard let tokenizer = try? ByteLevelBPETokenizer(tokenizerJSON: bytes, bosToken: "<s>", eosToken: "<|endoftext|>")
    else { return 0 }
    let ids = tokenizer.encode("Hello the 123 <|endoftext|> world\n\t héllo 🙂", addSpecialTokens: true, parseSpecialTokens: true)
    _ = try? tokenizer.decode(ids, skipSpecialTokens: false)
    _ = try? tokenizer.decode(ids, skipSpecialTokens: true)
    _ = try? tokenizer.tokenizerJSON()
    return 0
}

/// The program's entry (see `FuzzDriver`).
@_cdecl("fuzz_tokenizer_json_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    FuzzDriver.run(argc, argv, fuzzTokenizerJSON)
}
