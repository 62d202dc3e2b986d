import Testing
import Tokenization

/// Callers that only encode, decode and look up special tokens see the protocol, and it answers as the concrete
/// tokenizer does.
@Suite struct TextTokenizerTests {
    @Test func theProtocolAnswersAsTheByteLevelTokenizer() throws {
        let concrete = try ByteLevelBPETokenizer(tokens: Fixtures.tinyTokens(merges: ["! !"]), merges: ["! !"], preTokenizer: .gpt2)
        let tokenizer: any TextTokenizer = concrete
        let text = "ab !! a"
        #expect(tokenizer.encode(text) == concrete.encode(text))
        #expect(try tokenizer.decode(tokenizer.encode(text), skipSpecialTokens: false) == text)
        #expect(tokenizer.vocabularySize == concrete.vocabularySize)
        let bang = try #require(tokenizer.id(for: "!!"))
        #expect(tokenizer.token(for: bang) == "!!")
        #expect(!tokenizer.isSpecial(bang))
    }
}
