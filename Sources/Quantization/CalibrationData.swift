import Foundation
import Inference
import QuantCore
import TensorCore
import Tokenization

/// Token windows used to calibrate static scales.
public enum CalibrationData {
    /// Most tokens generated per sample when no calibration file is given (decode is the slow path).
    public static let generatedSequenceLimit = 128
    /// Most samples generated when no calibration file is given.
    public static let generatedSampleLimit = 16

    /// The windows of `tokenFile` as they are (`CalibrationTokens`, ids checked against the model's vocabulary);
    /// else `samples` windows of `sequenceLength` tokens starting at seeded random offsets of the encoded file
    /// (the GPTQ reference's sampling; a `.jsonl` file's texts joined, `CalibrationText`), or model-generated text when
    /// `file` is nil.
    public static func windows(
        _ settings: QuantRecipe.Calibration, model: LlamaModel, tokenizer: any TextTokenizer,
        progress: (Int, Int) -> Void = { _, _ in }
    ) throws -> [[Int]] {
        if let tokenFile = settings.tokenFile {
            return try CalibrationTokens.read(tokenFile, vocabularySize: model.configuration.vocabularySize)
        }
        guard let file = settings.file else {
            return try generated(settings, model: model, tokenizer: tokenizer, progress: progress)
        }
        let tokens = tokenizer.encode(try CalibrationText.read(file))
        guard tokens.count >= settings.sequenceLength else {
            throw QuantError.invalidConfiguration(
                field: "calibration.seq_len", reason: "\(file) has \(tokens.count) tokens, fewer than one sample of \(settings.sequenceLength)")
        }
        var rng = SplitMix64(seed: settings.seed)
        let span = tokens.count - settings.sequenceLength + 1
        return (0..<settings.samples).map { _ in
            let start = Int(rng.next() % UInt64(span))
            return Array(tokens[start..<(start + settings.sequenceLength)])
        }
    }

    /// Text sampled from the model itself (temperature 1, top-k 50, seeded), each sample started from a random
    /// ordinary token, all samples decoded together (`Generation.run(_:prompts:samplers:)`). Sizes are capped
    /// (`generatedSampleLimit` × `generatedSequenceLimit`); pass a file for full-size calibration. `progress` counts
    /// decode steps.
    static func generated(
        _ settings: QuantRecipe.Calibration, model: LlamaModel, tokenizer: any TextTokenizer,
        progress: (Int, Int) -> Void
    ) throws -> [[Int]] {
        let count = min(settings.samples, generatedSampleLimit)
        let length = min(settings.sequenceLength, generatedSequenceLimit)
        var rng = SplitMix64(seed: settings.seed)
        var firsts: [Int] = []
        for _ in 0..<count {
            var first = Int(rng.next() % UInt64(tokenizer.vocabularySize))
            while tokenizer.isSpecial(first) { first = Int(rng.next() % UInt64(tokenizer.vocabularySize)) }
            firsts.append(first)
        }
        let samplers = try (0..<count).map { index in
            try Sampler.Configuration(temperature: 1, topK: 50, topP: 1, seed: settings.seed &+ UInt64(index))
        }
        let generation = Generation(configuration: try .init(
            maximumNewTokens: length - 1, sampler: samplers[0], stopTokenIDs: []))
        let generated = try generation.run(model, prompts: firsts.map { [$0] }, samplers: samplers, progress: progress)
        return zip(firsts, generated).map { [$0] + $1 }
    }
}
