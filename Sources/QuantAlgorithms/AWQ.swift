import Foundation
import Inference
import QuantCore
import TensorCore

/// AWQ (Lin et al. 2023): activation-aware weight quantization for low-bit weights.
///
/// 1. Scale search (Sec. 3.2): per scale group, s = x̄^r / w̄^(1−r) (AutoAWQ's "duo scaling"; x̄ = mean |x| per input
///    channel, w̄ = mean over rows of |w| / max |w| of its quantization group), normalized by √(max s · min s), for
///    r on a grid in [0, 1). The loss of a candidate is the consumers' output error ‖X·(W − Q(W·s)/s)ᵀ‖², computed
///    exactly from the calibration Gram matrix XᵀX instead of re-running the data (AutoAWQ runs a token sample
///    through the whole attention or MLP module; Quanta measures the group's linear outputs over all tokens).
///    Unlike AutoAWQ, s = 1 is a candidate too, so a group is never left worse than round-to-nearest.
/// 2. Clipping search (AutoAWQ `auto_clip`): per output channel and quantization group, the weight range shrinks by
///    up to `maxShrink` in `clipGridSize` steps; each (channel, group) keeps the clip with the least output error
///    dᵀ·G_g·d (G_g the group's diagonal block of XᵀX). q_proj and k_proj are skipped, as in AutoAWQ, since their
///    outputs meet in the attention product, which this per-layer error does not see.
public struct AWQ: Sendable {
    public struct Configuration: Codable, Sendable, Equatable {
        /// Ratios r = i / gridSize for i in 0..<gridSize.
        public var gridSize: Int = 20
        /// s = x̄^r / w̄^(1−r) (true, AutoAWQ's default) or s = x̄^r (the paper).
        public var usesDuoScaling: Bool = true
        public var clipsWeights: Bool = true
        public var clipGridSize: Int = 20
        /// Largest fraction of the range clipping may remove.
        public var maxShrink: Float = 0.5

        enum CodingKeys: String, CodingKey, CaseIterable {
            case gridSize = "grid_size"
            case usesDuoScaling = "duo_scaling"
            case clipsWeights = "clip"
            case clipGridSize = "clip_grid_size"
            case maxShrink = "max_shrink"
        }

        public init(gridSize: Int = 20, usesDuoScaling: Bool = true, clipsWeights: Bool = true, clipGridSize: Int = 20,
                    maxShrink: Float = 0.5) throws(QuantError) {
            self.gridSize = gridSize
            self.usesDuoScaling = usesDuoScaling
            self.clipsWeights = clipsWeights
            self.clipGridSize = clipGridSize
            self.maxShrink = maxShrink
            try validate()
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            gridSize = try c.decodeIfPresent(Int.self, forKey: .gridSize) ?? 20
            usesDuoScaling = try c.decodeIfPresent(Bool.self, forKey: .usesDuoScaling) ?? true
            clipsWeights = try c.decodeIfPresent(Bool.self, forKey: .clipsWeights) ?? true
            clipGridSize = try c.decodeIfPresent(Int.self, forKey: .clipGridSize) ?? 20
            maxShrink = try c.decodeIfPresent(Float.self, forKey: .maxShrink) ?? 0.5
            try validate()
        }

        public func validate() throws(QuantError) {
            guard gridSize >= 1 else { throw .invalidConfiguration(field: "awq.grid_size", reason: "must be >= 1, got \(gridSize)") }
            guard clipGridSize >= 1 else {
                throw .invalidConfiguration(field: "awq.clip_grid_size", reason: "must be >= 1, got \(clipGridSize)")
            }
            guard maxShrink >= 0 && maxShrink < 1 else {
                throw .invalidConfiguration(field: "awq.max_shrink", reason: "must lie in [0, 1), got \(maxShrink)")
            }
        }
    }

    /// What the scale search chose for one group.
    public struct ScaleResult: Sendable, Equatable {
        /// The chosen ratio; nil when s = 1 won.
        public var ratio: Float?
        /// Output error (mean square per output element) with s = 1 and with the chosen scales.
        public var lossBefore: Double
        public var lossAfter: Double
    }

    /// What the clipping search did to one layer.
    public struct ClipResult: Sendable, Equatable {
        public var lossBefore: Double
        public var lossAfter: Double
        /// Share of (channel, group) ranges that were shrunk.
        public var clippedFraction: Double
    }

    public let configuration: Configuration

    public init(_ configuration: Configuration) {
        self.configuration = configuration
    }

    /// Searches and applies the scales of `group` in `block`.
    /// - Parameters: statistics of the group's input with its Gram matrix; `scheme` quantizes the consumers' weights.
    /// - Returns: the producer-channel scales applied (all 1 when none won) and the search result.
    public func searchScales<Block: TransformerBlock>(
        _ group: ScaleGroup<Block>, in block: inout Block, statistics: ActivationStatistics, scheme: QuantScheme
    ) throws(QuantError) -> (scales: [Float], result: ScaleResult) {
        guard statistics.columns == group.consumerWidth, statistics.collectsGram else {
            throw .shapeMismatch("\(group.name): AWQ needs the Gram matrix of the \(group.consumerWidth)-wide group input")
        }
        let gram = statistics.gram()
        let normalizer = Double(max(statistics.rowCount, 1))
        // Producer-channel means: average over the consumer columns each channel feeds.
        var activationMean = [Double](repeating: 0, count: group.channelCount)
        var feeds = [Double](repeating: 0, count: group.channelCount)
        for (j, value) in statistics.absMean.enumerated() {
            let c = group.producerChannel(ofConsumerColumn: j)
            activationMean[c] += Double(value)
            feeds[c] += 1
        }
        for c in activationMean.indices { activationMean[c] /= max(feeds[c], 1) }
        let weightMean = Self.normalizedWeightMean(group, block: block, scheme: scheme)

        let unscaled = [Float](repeating: 1, count: group.channelCount)
        let baseline = try Self.outputLoss(group, block: block, scales: unscaled, gram: gram, scheme: scheme) / normalizer
        var best = (ratio: Float?.none, scales: unscaled, loss: baseline)
        for step in 0..<configuration.gridSize {
            let ratio = Float(step) / Float(configuration.gridSize)
            var s = (0..<group.channelCount).map { c -> Double in
                let x = pow(max(activationMean[c], 0), Double(ratio))
                let w = configuration.usesDuoScaling ? pow(max(weightMean[c], 1e-12), Double(1 - ratio)) : 1
                return max(x / w, 1e-4)
            }
            let normal = (s.max()! * s.min()!).squareRoot()
            s = s.map { $0 / normal }
            let scales = s.map { Float($0) }
            guard scales.allSatisfy({ $0 > 0 && $0.isFinite }) else { continue }
            let loss = try Self.outputLoss(group, block: block, scales: scales, gram: gram, scheme: scheme) / normalizer
            if loss < best.loss { best = (ratio, scales, loss) }
        }
        if best.ratio != nil { group.apply(best.scales, to: &block) }
        return (best.scales, ScaleResult(ratio: best.ratio, lossBefore: baseline, lossAfter: best.loss))
    }

    /// Shrinks the weight's per-(channel, group) ranges where that lowers the output error; `gram` is XᵀX of the
    /// layer's input over `rowCount` rows.
    /// - Returns: the clipped float weight (still to be quantized by `scheme`) and what was done.
    public func clip(_ weight: Tensor, gram: Tensor, rowCount: Int, scheme: QuantScheme) throws(QuantError) -> (Tensor, ClipResult) {
        let rows = weight.shape[0], columns = weight.shape[1]
        guard gram.shape == [columns, columns] else {
            throw .shapeMismatch("AWQ clip: weight [\(rows), \(columns)] with Gram \(gram.shape)")
        }
        let groupSize = Self.groupWidth(scheme, columns: columns)
        let groupCount = (columns + groupSize - 1) / groupSize
        // Original |w| range per (row, group).
        var range = [Float](repeating: 0, count: rows * groupCount)
        for r in 0..<rows {
            for j in 0..<columns {
                range[r * groupCount + j / groupSize] = max(range[r * groupCount + j / groupSize], abs(weight.scalars[r * columns + j]))
            }
        }
        let steps = max(1, Int(configuration.maxShrink * Float(configuration.clipGridSize)))
        var bestLoss = [Double](repeating: .infinity, count: rows * groupCount)
        var bestBound = range
        var baseline = 0.0
        for step in 0..<steps {
            let factor = 1 - Float(step) / Float(configuration.clipGridSize)
            var clipped = weight
            for r in 0..<rows {
                for j in 0..<columns {
                    let bound = range[r * groupCount + j / groupSize] * factor
                    clipped.scalars[r * columns + j] = min(max(clipped.scalars[r * columns + j], -bound), bound)
                }
            }
            let quantized = try TensorQuantizer.fakeQuantize(clipped, scheme: scheme)
            let delta = Tensor(shape: [rows, columns], scalars: zip(weight.scalars, quantized.scalars).map { $0 - $1 })
            let losses = Self.groupLosses(delta, gram: gram, groupSize: groupSize)
            for index in losses.indices where losses[index] < bestLoss[index] {
                bestLoss[index] = losses[index]
                bestBound[index] = range[index] * factor
            }
            if step == 0 { baseline = losses.reduce(0, +) }
        }
        var result = weight
        var clippedCount = 0
        for index in bestBound.indices where bestBound[index] < range[index] { clippedCount += 1 }
        for r in 0..<rows {
            for j in 0..<columns {
                let bound = bestBound[r * groupCount + j / groupSize]
                result.scalars[r * columns + j] = min(max(result.scalars[r * columns + j], -bound), bound)
            }
        }
        let normalizer = Double(max(rowCount, 1) * rows)
        return (result, ClipResult(lossBefore: baseline / normalizer, lossAfter: bestLoss.reduce(0, +) / normalizer,
                                   clippedFraction: Double(clippedCount) / Double(max(bestBound.count, 1))))
    }

    /// Quantization group width along the input dimension (the whole row for per-channel and per-tensor schemes).
    static func groupWidth(_ scheme: QuantScheme, columns: Int) -> Int {
        switch scheme.granularity {
        case .perGroup: min(scheme.groupSize ?? columns, columns)
        case .perBlock: min(32, columns)
        default: columns
        }
    }

    /// w̄ per producer channel: mean over the consumers' rows of |w| / max |w| within its quantization group.
    static func normalizedWeightMean<Block: TransformerBlock>(_ group: ScaleGroup<Block>, block: Block, scheme: QuantScheme) -> [Double] {
        var sum = [Double](repeating: 0, count: group.channelCount)
        var count = [Double](repeating: 0, count: group.channelCount)
        for path in group.consumers {
            let w = block[keyPath: path].weight
            let columns = w.shape[1], groupSize = groupWidth(scheme, columns: columns)
            for r in 0..<w.shape[0] {
                for g0 in stride(from: 0, to: columns, by: groupSize) {
                    let g1 = min(columns, g0 + groupSize)
                    var peak: Float = 0
                    for j in g0..<g1 { peak = max(peak, abs(w.scalars[r * columns + j])) }
                    guard peak > 0 else { continue }
                    for j in g0..<g1 {
                        let c = group.producerChannel(ofConsumerColumn: j)
                        sum[c] += Double(abs(w.scalars[r * columns + j]) / peak)
                        count[c] += 1
                    }
                }
            }
        }
        return zip(sum, count).map { $1 > 0 ? $0 / $1 : 0 }
    }

    /// Σ over consumers and rows of Δ·G·Δᵀ where Δ = W − Q(W·diag(s))·diag(1/s), divided by the output count.
    static func outputLoss<Block: TransformerBlock>(
        _ group: ScaleGroup<Block>, block: Block, scales: [Float], gram: Tensor, scheme: QuantScheme
    ) throws(QuantError) -> Double {
        let expanded = group.consumerScales(scales)
        var total = 0.0, outputs = 0
        for path in group.consumers {
            let w = block[keyPath: path].weight
            let rows = w.shape[0], columns = w.shape[1]
            var scaled = w
            for r in 0..<rows {
                for j in 0..<columns { scaled.scalars[r * columns + j] *= expanded[j] }
            }
            let quantized = try TensorQuantizer.fakeQuantize(scaled, scheme: scheme)
            var delta = w
            for r in 0..<rows {
                for j in 0..<columns { delta.scalars[r * columns + j] -= quantized.scalars[r * columns + j] / expanded[j] }
            }
            total += groupLosses(delta, gram: gram, groupSize: columns).reduce(0, +)
            outputs += rows
        }
        return total / Double(max(outputs, 1))
    }

    /// dᵀ·G_g·d for every row d of `delta` and every group g of `groupSize` columns (G_g the diagonal block of
    /// `gram`): `[rows, groupCount]` row-major.
    static func groupLosses(_ delta: Tensor, gram: Tensor, groupSize: Int) -> [Double] {
        let rows = delta.shape[0], columns = delta.shape[1]
        let groupCount = (columns + groupSize - 1) / groupSize
        var result = [Double](repeating: 0, count: rows * groupCount)
        delta.scalars.withUnsafeBufferPointer { d in
            gram.scalars.withUnsafeBufferPointer { g in
                result.withUnsafeMutableBufferPointer { out in
                    nonisolated(unsafe) let (dp, gp, op) = (d.baseAddress!, g.baseAddress!, out.baseAddress!)
                    Parallel.forEachChunk(count: rows, minimumPerChunk: 16) { chunk in
                        let count = chunk.count
                        var product = [Float](repeating: 0, count: count * groupSize)
                        product.withUnsafeMutableBufferPointer { p in
                            for group in 0..<groupCount {
                                let g0 = group * groupSize, width = min(groupSize, columns - g0)
                                let first = dp + chunk.lowerBound * columns
                                // P[count, width] = Δ[chunk, g] · G[g, g]
                                BLAS.sgemm(transposeA: false, transposeB: false, m: count, n: width, k: width,
                                           a: first + g0, lda: columns, b: gp + g0 * columns + g0, ldb: columns,
                                           c: p.baseAddress!, ldc: width)
                                for r in 0..<count {
                                    var sum = 0.0
                                    for j in 0..<width { sum += Double(p[r * width + j]) * Double(first[r * columns + g0 + j]) }
                                    op[(chunk.lowerBound + r) * groupCount + group] = sum
                                }
                            }
                        }
                    }
                }
            }
        }
        return result
    }
}

extension AWQ: ScaleMigrating {
    public var calibrationNeeds: CalibrationNeeds { CalibrationNeeds(gram: true) }

    /// Searches the scales of a group whose first consumer has quantized weights.
    public func migrate<Block: TransformerBlock>(_ input: ScaleGroupInput<Block>, in block: inout Block) throws -> (scales: [Float], report: AlgorithmReport)? {
        guard let scheme = input.weightScheme else { return nil }
        let (s, result) = try searchScales(input.group, in: &block, statistics: input.statistics, scheme: scheme)
        return (s, AlgorithmReport(
            algorithm: "awq", block: input.block, target: input.group.name,
            choice: result.ratio.map { String(format: "ratio %.2f", $0) } ?? "unscaled",
            lossBefore: result.lossBefore, lossAfter: result.lossAfter))
    }

    /// Clips each quantized consumer's weight ranges, except the layers that form attention scores (AutoAWQ skips
    /// q/k: the softmax makes their output error a poor proxy).
    public func adjustWeights<Block: TransformerBlock>(_ input: ScaleGroupInput<Block>, in block: inout Block) throws -> [AlgorithmReport] {
        guard configuration.clipsWeights else { return [] }
        var gram: Tensor?  // one symmetric copy per group, shared by its consumers
        var reports: [AlgorithmReport] = []
        for (path, scheme) in zip(input.group.consumers, input.consumerWeightSchemes)
        where !input.group.attentionScoreConsumers.contains(path) {
            guard let scheme else { continue }
            if gram == nil { gram = input.statistics.gram() }
            let (clipped, result) = try clip(
                block[keyPath: path].weight, gram: gram!, rowCount: input.statistics.rowCount, scheme: scheme)
            block[keyPath: path].weight = clipped
            reports.append(AlgorithmReport(
                algorithm: "awq-clip", block: input.block, target: block[keyPath: path].name,
                choice: String(format: "clipped %.0f%%", result.clippedFraction * 100),
                lossBefore: result.lossBefore, lossAfter: result.lossAfter))
        }
        return reports
    }
}
