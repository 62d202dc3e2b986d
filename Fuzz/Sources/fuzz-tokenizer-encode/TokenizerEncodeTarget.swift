import Foundation
import FuzzSupport
import Tokenization

/// A fixed tokenizer (`FixedTokenizer`: byte-level BPE, merges, ChatML special tokens, GPT-2 regex) fed arbitrary
/// input. The first byte picks the operation: even → encode the rest as
/// UTF-8 (invalid sequences are repaired by `String(decoding:)`, as a caller reading a file would), with special-token
/// parsing on or off by bit 1; odd → read the rest as little-endian `Int32` ids (any value, negative and out of range
/// included) and decode them in one call and through `TokenStreamDecoder`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTokenizerEncode(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let tokenizer = FixedTokenizer.shared
    let rest = UnsafeBufferPointer(start: data + 1, count: size - 1)
    if data[0] & 1 == 0 {
        let text = String(decoding: rest, as: UTF8.self)
        let ids = tokenizer.encode(text, addSpecialTokens: data[0] & 4 != 0, parseSpecialTokens: data[0] & 2 != 0)
        _ = try? tokenizer.decode(ids)
    } else {
        var ids: [Int] = []
        var index = 0
        while index + 4 <= rest.count {
            let raw = UInt32(rest[index]) | UInt32(rest[index + 1]) << 8 | UInt32(rest[index + 2]) << 16
                | UInt32(rest[index + 3]) << 24
            ids.append(Int(Int32(bitPattern: raw)))
            index += 4
        }
        _ = try? tokenizer.decode(ids, skipSpecialTokens: data[0] & 2 != 0)
        var stream = TokenStreamDecoder(tokenizer: tokenizer, skipSpecialTokens: data[0] & 2 != 0)
        for id in ids { _ = try? stream.append(id) }
        _ = stream.finish()
    }
    return 0
}

/// The program's entry (see `FuzzDriver`).
@_cdecl("fuzz_tokenizer_encode_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    FuzzDriver.run(argc, argv, fuzzTokenizerEncode)
}
