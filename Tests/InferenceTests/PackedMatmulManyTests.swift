import Foundation
import Inference
import QuantCore
import Testing

/// One pass over several weights' panels (q/k/v, gate/up) gives each weight exactly what its own `run` gives.
struct PackedMatmulManyTests {
    /// Output widths of a q/k/v-like group (panels of 16 split unevenly between workers, a ragged last panel) over one
    /// input width, with the group sizes each format takes.
    static let groups: [(outFeatures: [Int], inFeatures: Int, groupSize: Int)] = [
        ([64, 16, 16], 96, 32), ([40, 33, 7], 100, 100), ([120, 8], 64, 64), ([17, 17, 17, 50], 72, 8),
    ]

    @Test(arguments: [PackedWeight.Format.int8, .uint4, .fp8e4m3], PackedMatmulTests.activations)
    func equalsSeparateRuns(format: PackedWeight.Format, activation: PackedActivation) throws {
        for (index, group) in Self.groups.enumerated() where format != .uint4 || group.groupSize % 8 == 0 || group.groupSize >= group.inFeatures {
            let weights = try group.outFeatures.enumerated().map { offset, outFeatures in
                try PackedFixtures.weight(
                    format, outFeatures: outFeatures, inFeatures: group.inFeatures, groupSize: group.groupSize,
                    seed: UInt64(10 * index + offset)
                ).packed
            }
            for rows in [1, 2, 5, 47, 60] {
                let x = PackedFixtures.input(rows: rows, columns: group.inFeatures, seed: UInt64(rows + index))
                for path in KernelPath.supported {
                    let fused = Self.fused(weights, activation, x, rows: rows, path: path)
                    for (weight, actual) in zip(weights, fused) {
                        let expected = PackedMatmulTests.product(weight, activation, x, rows: rows, path: path)
                        #expect(
                            actual == expected,
                            "\(path) \(format) \(activation) [\(weight.outFeatures), \(group.inFeatures)] g\(group.groupSize) rows \(rows)")
                    }
                }
            }
        }
    }

    /// Weights the fused pass does not take together (another group size) run one by one, still equal.
    @Test func mixedGroupSizesRunSeparately() throws {
        let weights = try [32, 64].map {
            try PackedFixtures.weight(.uint4, outFeatures: 24, inFeatures: 128, groupSize: $0, seed: UInt64($0)).packed
        }
        let x = PackedFixtures.input(rows: 1, columns: 128, seed: 3)
        let fused = Self.fused(weights, .int8PerToken, x, rows: 1, path: .current)
        for (weight, actual) in zip(weights, fused) {
            #expect(actual == PackedMatmulTests.product(weight, .int8PerToken, x, rows: 1, path: .current))
        }
    }

    static func fused(
        _ weights: [PackedWeight], _ activation: PackedActivation, _ x: [Float], rows: Int, path: KernelPath
    ) -> [[Float]] {
        let outputs = weights.map { UnsafeMutablePointer<Float>.allocate(capacity: rows * $0.outFeatures) }
        defer { outputs.forEach { $0.deallocate() } }
        for (weight, output) in zip(weights, outputs) { output.initialize(repeating: .nan, count: rows * weight.outFeatures) }
        x.withUnsafeBufferPointer { input in
            PackedMatmul.runMany(weights, activation: activation, input: input.baseAddress!, rows: rows, outputs: outputs, path: path)
        }
        return zip(weights, outputs).map { Array(UnsafeBufferPointer(start: $1, count: rows * $0.outFeatures)) }
    }
}
