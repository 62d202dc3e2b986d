import Inference
import QuantAlgorithms
import QuantCore
import TensorCore

/// Forward hooks that collect, for each scale group of one block, the statistics of the group's input (the input of
/// its first consumer; the other consumers read the same values) and an evenly spaced sample of its rows; then the
/// same for each block linear that no group feeds (`looseLinears`), indexed after the groups.
final class BlockCapture: ForwardHooks {
    /// Group index by the name of its first consumer.
    private let groupByLayer: [String: Int]
    private(set) var statistics: [ActivationStatistics]
    /// Sampled rows per group, `[rows, width]` row-major.
    private(set) var samples: [[Float]]
    private let sampleStride: Int
    private(set) var firstError: (any Error)?

    /// - Parameters: `sampleStride`: keep every `sampleStride`-th row (0 keeps none).
    init<Block: TransformerBlock>(
        block: Block, groups: [ScaleGroup<Block>], looseLinears: [WritableKeyPath<Block, Linear>], collectsGram: Bool,
        sampleStride: Int
    ) {
        var groupByLayer: [String: Int] = [:]
        for (index, group) in groups.enumerated() { groupByLayer[block[keyPath: group.consumers[0]].name] = index }
        for (offset, path) in looseLinears.enumerated() { groupByLayer[block[keyPath: path].name] = groups.count + offset }
        self.groupByLayer = groupByLayer
        let widths = groups.map(\.consumerWidth) + looseLinears.map { block[keyPath: $0].inFeatures }
        statistics = widths.map { ActivationStatistics(columns: $0, collectsGram: collectsGram) }
        samples = widths.map { _ in [] }
        self.sampleStride = sampleStride
    }

    func linearInput(_ layer: String, _ input: UnsafePointer<Float>, rows: Int, columns: Int) {
        guard firstError == nil, let index = groupByLayer[layer] else { return }
        do {
            try statistics[index].accumulate(input, rows: rows)
        } catch {
            firstError = error
        }
        guard sampleStride > 0 else { return }
        for r in stride(from: sampleStride / 2, to: rows, by: sampleStride) {
            samples[index].append(contentsOf: UnsafeBufferPointer(start: input + r * columns, count: columns))
        }
    }

    /// Applies a scale group's division of its input by `s` (consumer columns) to what was collected.
    func divide(group index: Int, by s: [Float]) {
        statistics[index].divideColumns(by: s)
        let width = s.count
        samples[index].withUnsafeMutableBufferPointer { rows in
            for r in 0..<(rows.count / width) {
                for j in 0..<width { rows[r * width + j] /= s[j] }
            }
        }
    }
}
