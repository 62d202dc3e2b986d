import Analysis
import Foundation
import Pipeline
import Quantization
import TensorCore
import TestSupport
import Testing

/// SmolLM2 on multiple-choice items made at test time from wikitext-2's test split (never committed): the context is
/// the start of a paragraph, the right choice its next three words, the three distractors three-word spans of other
/// paragraphs. Chance is 25%. Needs the model (scripts/fetch-models.sh) and ../shared/data.
@Suite(.enabled(if: RealData.exists(RealData.smolLM2, RealData.wikiTest), "SmolLM2 or wikitext-2 not found"), .serialized)
struct SmolLM2TaskAccuracyTests {
    /// `count` items from paragraphs of at least 60 words; seeded, so the same items every run.
    static func nextWordItems(count: Int, seed: UInt64) throws -> [MultipleChoiceItem] {
        let text = try TextFile.read(RealData.wikiTest)
        let paragraphs = text.split(separator: "\n")
            .map { $0.split(separator: " ").map(String.init) }
            .filter { $0.count >= 60 && $0.first != "=" }
        var rng = SplitMix64(seed: seed)
        func below(_ bound: Int) -> Int { Int(rng.next() % UInt64(bound)) }
        func span(of words: [String], at start: Int) -> String { " " + words[start..<(start + 3)].joined(separator: " ") }
        return (0..<count).map { index in
            let words = paragraphs[index * paragraphs.count / count]
            let cut = 20 + below(30)
            var choices = [span(of: words, at: cut)]
            while choices.count < 4 {
                let other = paragraphs[below(paragraphs.count)]
                let candidate = span(of: other, at: below(other.count - 3))
                if !choices.contains(candidate) { choices.append(candidate) }
            }
            let answer = below(4)
            choices.swapAt(0, answer)
            return MultipleChoiceItem(context: words[..<cut].joined(separator: " "), choices: choices, answer: answer)
        }
    }

    @Test func nextWordsOfWikitextAreChosenWellAboveChance() throws {
        let loaded = try ModelLoader.load(RealData.smolLM2)
        let tokenizer = try loaded.requireTokenizer()
        // 50 items keep the suite's time small (100 measured 82.0%, Wilson 73.3–88.3%).
        let items = try Self.nextWordItems(count: 50, seed: 1)
        let prepared = try TaskEvaluation.prepare(items, tokenizer: tokenizer, contextLength: loaded.model.contextLength)
        let start = Date()
        let result = try TaskEvaluation.score(loaded.model, items: prepared)
        let seconds = Date().timeIntervalSince(start)
        print(String(format: "SmolLM2 wikitext next-3-words, %d items, 4 choices: acc %.4f [%.4f, %.4f], acc_norm %.4f [%.4f, %.4f], %.1f items/s",
                     result.itemCount, result.accuracy, result.interval.lower, result.interval.upper, result.normalizedAccuracy,
                     result.normalizedInterval.lower, result.normalizedInterval.upper, Double(result.itemCount) / seconds))
        // Well above chance (25%): the whole 95% interval above twice chance.
        #expect(result.interval.lower > 0.5, "accuracy \(result.accuracy), interval \(result.interval)")
        #expect(result.normalizedInterval.lower > 0.5)
        #expect(result.truncatedItems == 0)

        // The branched KV cache against one plain forward per choice: the same choices, and how much faster.
        let sample = Array(prepared.prefix(8))
        let fullStart = Date()
        let plain = try TaskEvaluation.score(FullForwardScoring(loaded.model, contextLength: loaded.model.contextLength), items: sample)
        let fullSeconds = Date().timeIntervalSince(fullStart)
        let branchStart = Date()
        let branched = try TaskEvaluation.score(loaded.model, items: sample)
        let branchSeconds = Date().timeIntervalSince(branchStart)
        print(String(format: "  %d items: branched KV cache %.1f items/s, a full forward per choice %.1f items/s",
                     sample.count, Double(sample.count) / branchSeconds, Double(sample.count) / fullSeconds))
        #expect(branched.chosen == plain.chosen)
        for (a, b) in zip(branched.logLikelihoods.joined(), plain.logLikelihoods.joined()) {
            #expect(abs(a - b) < 2e-3 * max(1, abs(b)), "branched \(a), plain \(b)")
        }
    }
}
