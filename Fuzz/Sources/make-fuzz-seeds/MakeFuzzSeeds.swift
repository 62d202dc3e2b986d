import Export
import Foundation
import FuzzSupport
import Inference
import ModelFormats
import Pipeline
import QuantCore
import Quantization
import TensorCore
import TestSupport
import Tokenization

/// Writes the synthetic seeds of `Fuzz/Corpus/<target>/` with Quanta's own writers. Usage:
/// `make-fuzz-seeds CORPUS_DIR [SMOLLM2_GGUF]`; with the real GGUF, its first 4 KB (header and the start of the
/// metadata, no weights) become one more GGUF seed.
@main
struct MakeFuzzSeeds {
    static func main() throws {
        let arguments = CommandLine.arguments
        guard arguments.count >= 2 else {
            print("usage: make-fuzz-seeds CORPUS_DIR [SMOLLM2_GGUF]")
            exit(2)
        }
        let corpus = arguments[1]
        let seeds = SeedWriter(corpus: corpus)
        try GGUFSeeds.write(seeds, realGGUF: arguments.count > 2 ? arguments[2] : nil)
        try SafetensorsSeeds.write(seeds)
        try TokenizerSeeds.write(seeds)
        try ChatTemplateSeeds.write(seeds)
        try RecipeSeeds.write(seeds)
        try FolderSeeds.write(seeds)
        print("seeds written to \(corpus)")
    }
}

/// Writes one seed file per call under `corpus/<target>/<name>`.
struct SeedWriter {
    let corpus: String

    func write(_ target: String, _ name: String, _ bytes: [UInt8]) throws {
        let directory = corpus + "/" + target
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: directory + "/" + name))
    }
}

/// Seeded bytes, so every run writes the same seeds.
func seededBytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var rng = SplitMix64(seed: seed)
    return (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
}
