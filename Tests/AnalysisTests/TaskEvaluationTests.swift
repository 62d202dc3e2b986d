import Analysis
import Foundation
import Inference
import TensorCore
import TestSupport
import Testing
import Tokenization

/// Multiple-choice scoring on a tiny random Llama: the branched KV cache against plain forwards, items built so the
/// answer is known to score highest (or lowest), the BPE boundary, and truncation.
@Suite struct TaskEvaluationTests {
    /// The tiny byte-level vocabulary of TinyModelFiles (merges "Ġt", "he", "Ġthe", "in"), with EOS.
    static func tokenizer() throws -> ByteLevelBPETokenizer {
        let v = TinyModelFiles.vocabulary()
        return try ByteLevelBPETokenizer(
            tokens: v.tokens, merges: v.merges, tokenTypes: v.tokenTypes, bosTokenID: nil, eosTokenID: v.tokens.count - 1,
            addBOS: false, ggufPreTokenizer: "gpt2")
    }

    static func model() throws -> LlamaModel {
        let c = TinyModelFiles.configuration()
        return try LlamaModel(configuration: c, tensors: TinyLlama.tensors(c, seed: 3))
    }

    /// Summed log-probability of `continuation` after `prefix` from one plain forward of the whole sequence.
    static func plainLogLikelihood(_ model: LlamaModel, prefix: [Int], continuation: [Int]) throws -> Double {
        let logits = try model.logits(for: prefix + continuation)
        let V = logits.shape[1]
        var total = 0.0
        for (j, token) in continuation.enumerated() {
            let row = Array(logits.scalars[((prefix.count - 1 + j) * V)..<((prefix.count + j) * V)])
            let maximum = Double(row.max()!)
            let logZ = maximum + log(row.reduce(0.0) { $0 + exp(Double($1) - maximum) })
            total += Double(row[token]) - logZ
        }
        return total
    }

    @Test func branchedCacheMatchesAPlainFullForward() throws {
        let model = try Self.model()
        var rng = SplitMix64(seed: 11)
        let prefix = (0..<13).map { _ in Int(rng.next() % 256) }
        let continuations = [[5], [7, 9, 200], (0..<6).map { _ in Int(rng.next() % 256) }]
        let branched = try model.continuationLogProbabilities(prefix: prefix, continuations: continuations)
        let plain = try FullForwardScoring(model, contextLength: model.contextLength)
            .continuationLogProbabilities(prefix: prefix, continuations: continuations)
        for (i, continuation) in continuations.enumerated() {
            let reference = try Self.plainLogLikelihood(model, prefix: prefix, continuation: continuation)
            let sum = branched[i].reduce(0, +)
            #expect(abs(sum - reference) < 1e-4, "choice \(i): branched \(sum), plain forward \(reference)")
            #expect(abs(plain[i].reduce(0, +) - reference) < 1e-4)
        }
    }

    /// Greedy continuations against random ones: the greedy one is the answer (100%), then a random one (0%).
    @Test func greedyAnswersScoreAllAndDistractorAnswersScoreNone() throws {
        let model = try Self.model()
        var rng = SplitMix64(seed: 5)
        var items: [TaskEvaluation.PreparedItem] = []
        for _ in 0..<12 {
            let prefix = (0..<(4 + Int(rng.next() % 9))).map { _ in Int(rng.next() % 256) }
            var greedy: [Int] = []
            for _ in 0..<3 {
                let logits = try model.logits(for: prefix + greedy)
                let last = Array(logits.scalars.suffix(model.vocabularySize))
                greedy.append(last.indices.max { last[$0] < last[$1] }!)
            }
            let distractors = (0..<3).map { _ in (0..<3).map { _ in Int(rng.next() % 256) } }
            items.append(.init(prefix: prefix, continuations: [greedy] + distractors, scoredCounts: [3, 3, 3, 3],
                               choiceLengths: [1, 1, 1, 1], answer: 0, truncatedTokens: 0))
        }
        let right = try TaskEvaluation.score(model, items: items)
        #expect(right.accuracy == 1 && right.normalizedAccuracy == 1, "\(right.logLikelihoods)")
        #expect(right.chosen == Array(repeating: 0, count: items.count))
        let wrong = try TaskEvaluation.score(model, items: items.map { var item = $0; item.answer = 2; return item })
        #expect(wrong.accuracy == 0 && wrong.correct == 0)
        #expect(wrong.interval == ConfidenceInterval.wilson(successes: 0, trials: 12))
        #expect(right.agreement(with: wrong) == 1)
    }

    /// Text items: one-letter choices that never merge; the answer is the one a plain forward ranks first (or last).
    @Test func textItemsScoreTheirBestChoiceThroughTheTokenizer() throws {
        let (model, tokenizer) = (try Self.model(), try Self.tokenizer())
        let letters = ["k", "q", "z", "x", "j"]
        var best: [MultipleChoiceItem] = [], worst: [MultipleChoiceItem] = []
        for context in ["a b c.", "the thing in", "zz yy; ", "q"] {
            let trimmed = context.trimmingCharacters(in: .whitespaces)
            let contextIDs = tokenizer.encode(trimmed, addSpecialTokens: false, parseSpecialTokens: false)
            let choices = letters.map { context.hasSuffix(" ") ? $0 : " " + $0 }
            let scores = try choices.map { choice in
                let ids = tokenizer.encode(trimmed + (context.hasSuffix(" ") ? " " : "") + choice, addSpecialTokens: false,
                                           parseSpecialTokens: false)
                #expect(Array(ids.prefix(contextIDs.count)) == contextIDs)
                return try Self.plainLogLikelihood(model, prefix: contextIDs, continuation: Array(ids.dropFirst(contextIDs.count)))
            }
            best.append(.init(context: context, choices: choices, answer: scores.indices.max { scores[$0] < scores[$1] }!))
            worst.append(.init(context: context, choices: choices, answer: scores.indices.min { scores[$0] < scores[$1] }!))
        }
        let right = try TaskEvaluation.run(model: model, tokenizer: tokenizer, items: best)
        #expect(right.accuracy == 1, "\(right.logLikelihoods)")
        #expect(right.truncatedItems == 0)
        let wrong = try TaskEvaluation.run(model: model, tokenizer: tokenizer, items: worst)
        #expect(wrong.accuracy == 0)
    }

    /// "x t" + "he" encodes as [x, Ġthe]: the context's last token merges with the choice, so the split is at their
    /// common prefix [x] and the merged token is scored (lm-evaluation-harness would score nothing here).
    @Test func aMergeAcrossTheBoundaryIsScoredFromTheCommonPrefix() throws {
        let tokenizer = try Self.tokenizer()
        let item = MultipleChoiceItem(context: "x t", choices: ["he", "k"], answer: 0)
        let prepared = try TaskEvaluation.prepare([item], tokenizer: tokenizer, contextLength: 64)[0]
        let (x, t, the, k) = (tokenizer.id(for: "x")!, tokenizer.id(for: "Ġt")!, tokenizer.id(for: "Ġthe")!, tokenizer.id(for: "k")!)
        #expect(prepared.prefix == [x])
        #expect(prepared.continuations == [[the], [t, k]])
        #expect(prepared.scoredCounts == [1, 1])
        #expect(prepared.choiceLengths == [2, 1])
    }

    /// Trailing whitespace moves into the choices (as the harness does), so " the" keeps its "Ġthe" token.
    @Test func trailingContextWhitespaceJoinsTheChoice() throws {
        let tokenizer = try Self.tokenizer()
        let item = MultipleChoiceItem(context: "x ", choices: ["the", "in"], answer: 1)
        let prepared = try TaskEvaluation.prepare([item], tokenizer: tokenizer, contextLength: 64)[0]
        #expect(prepared.prefix == [tokenizer.id(for: "x")!])
        #expect(prepared.continuations == [[tokenizer.id(for: "Ġthe")!], [tokenizer.id(for: "Ġ")!, tokenizer.id(for: "in")!]])
        #expect(prepared.choiceLengths == [3, 2])
    }

    @Test func anEmptyContextIsScoredAfterTheEndOfTextToken() throws {
        let tokenizer = try Self.tokenizer()
        let prepared = try TaskEvaluation.prepare([.init(context: "", choices: ["a", "b"], answer: 0)], tokenizer: tokenizer, contextLength: 64)[0]
        #expect(prepared.prefix == [tokenizer.eosTokenID!])
        #expect(prepared.continuations == [[tokenizer.id(for: "a")!], [tokenizer.id(for: "b")!]])
    }

    @Test func longContextsAreTruncatedFromTheLeftAndCounted() throws {
        let (model, tokenizer) = (try Self.model(), try Self.tokenizer())
        let long = MultipleChoiceItem(context: String(repeating: "ab ", count: 20) + "c", choices: [" d", " ee"], answer: 0)
        let short = MultipleChoiceItem(context: "c", choices: [" d", " ee"], answer: 0)
        let prepared = try TaskEvaluation.prepare([long, short], tokenizer: tokenizer, contextLength: 10)
        // The longest sequence fed is context + " ee" less its last token; it must be 10 after truncation.
        #expect(prepared[0].prefix.count + prepared[0].continuations.map(\.count).max()! - 1 == 10)
        #expect(prepared[0].truncatedTokens > 0 && prepared[1].truncatedTokens == 0)
        #expect(prepared[0].prefix.last == tokenizer.id(for: "c"))
        let result = try TaskEvaluation.score(model, items: prepared)
        #expect(result.truncatedItems == 1)
        let tooLong = MultipleChoiceItem(context: "c", choices: [String(repeating: " zq", count: 8), " d"], answer: 0)
        #expect(throws: AnalysisError.unscorableItem(item: 1, reason: "choice 0 has 24 tokens, too many for the model's context window of 10 tokens")) {
            try TaskEvaluation.prepare([short, tooLong], tokenizer: tokenizer, contextLength: 10)
        }
    }
}
