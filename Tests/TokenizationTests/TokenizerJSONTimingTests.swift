import Foundation
import Testing
import Tokenization

/// Times the load of a real `tokenizer.json` (SmolLM2's is 2.3 MB). Runs only when `QUANTA_TOKENIZER_JSON` names a
/// file, and prints the median of 9 loads after one warm-up; it checks only that the load succeeds.
@Suite("tokenizer.json load time")
struct TokenizerJSONTimingTests {
    static let path = ProcessInfo.processInfo.environment["QUANTA_TOKENIZER_JSON"]

    @Test(.enabled(if: path != nil)) func medianLoadTime() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: try #require(Self.path)))
        var times: [Double] = []
        var vocabularySize = 0
        for _ in 0..<10 {
            let start = ContinuousClock.now
            let tokenizer = try ByteLevelBPETokenizer(tokenizerJSON: data)
            let elapsed = ContinuousClock.now - start
            times.append(Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1e3)
            vocabularySize = tokenizer.vocabularySize
        }
        let sorted = times.dropFirst().sorted()
        print("tokenizer.json \(data.count) bytes, \(vocabularySize) tokens: median load \(sorted[sorted.count / 2]) ms, min \(sorted[0]) ms")
        #expect(vocabularySize > 0)
    }
}
