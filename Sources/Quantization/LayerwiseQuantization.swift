import Foundation
import Inference
import QuantAlgorithms
import QuantCore
import TensorCore

/// Runs the block-wise algorithms of a recipe (SmoothQuant, AWQ, then GPTQ or round-to-nearest) one decoder block at
/// a time. Each block's calibration inputs are the previous blocks' outputs with their weights already quantized
/// (as GPTQ's reference does), so errors made earlier are seen and compensated later, and memory stays bounded by the
/// hidden states of the calibration set plus one block's statistics.
enum LayerwiseQuantization {
    /// The algorithms with their configurations, decoded from the recipe once before work starts.
    struct Steps {
        var smoothQuant: SmoothQuant?
        var awq: AWQ?
        var gptq: GPTQ?
        var order: [String]

        init(_ steps: [AlgorithmStep]) throws {
            order = steps.map(\.name)
            for step in steps {
                switch step {
                case .smoothQuant(let configuration): smoothQuant = SmoothQuant(configuration)
                case .awq(let configuration): awq = AWQ(configuration)
                case .gptq(let configuration): gptq = GPTQ(configuration)
                case .rotation:
                    throw QuantError.invalidConfiguration(field: "algorithms", reason: "'\(step.name)' does not run block by block")
                }
            }
        }

        var needsGram: Bool { awq != nil || gptq != nil }
        var needsSample: Bool { smoothQuant?.configuration.searchesAlpha == true }
    }

    /// Rows kept per group for searches that run the data (SmoothQuant's α search).
    static let sampleRowTarget = 2048

    /// Runs `steps` over `model`'s blocks on `windows` and quantizes every planned block linear.
    /// - Parameters: `reference`: when given (the same float model as `model` on entry), receives every
    ///   function-preserving scale migration (SmoothQuant, AWQ scales) and nothing else, so it stays the float model
    ///   the quantized one approximates, in the same basis.
    /// - Returns: the stored weights of the block linears it quantized (the model holds their dequantized values)
    ///   and what each algorithm did.
    static func run(
        _ model: inout LlamaModel, plan: QuantizationPlan, steps: Steps, windows: [[Int]],
        reference: inout LlamaModel?,
        progress: (Int, Int) -> Void = { _, _ in }, log: (String) -> Void = { _ in }
    ) throws -> (weights: [String: QuantizedTensor], reports: [AlgorithmReport]) {
        let schemes = Dictionary(uniqueKeysWithValues: plan.layers.map { ($0.name, $0) })
        let groups = model.scaleGroups
        var states = try windows.map { try model.embed($0) }
        let totalRows = windows.reduce(0) { $0 + $1.count }
        let sampleStride = steps.needsSample ? max(1, totalRows / sampleRowTarget) : 0
        var stored: [String: QuantizedTensor] = [:]
        var reports: [AlgorithmReport] = []
        for index in model.blocks.indices {
            let capture = BlockCapture(block: model.blocks[index], groups: groups, collectsGram: steps.needsGram, sampleStride: sampleStride)
            for w in states.indices {
                var x = states[w]
                try model.forwardBlock(index, hiddenStates: &x, hooks: capture)
                if let error = capture.firstError { throw QuantizationError.layerFailed(layer: "model.layers.\(index)", reason: "\(error)") }
            }
            var block = model.blocks[index]
            var referenceBlock = reference?.blocks[index]
            var blockReports: [AlgorithmReport] = []
            for name in steps.order {
                for (g, group) in groups.enumerated() {
                    let first = schemes[block[keyPath: group.consumers[0]].name]!
                    if name == "smoothquant", let smoothQuant = steps.smoothQuant {
                        if case .linear = group.producer, !smoothQuant.configuration.smoothsLinearProducers { continue }
                        guard first.input != nil || first.weight != nil else { continue }
                        let sample = capture.samples[g].isEmpty ? nil
                            : Tensor(shape: [capture.samples[g].count / group.consumerWidth, group.consumerWidth], scalars: capture.samples[g])
                        let (s, result) = try smoothQuant.smooth(
                            group, in: &block, statistics: capture.statistics[g], sample: sample,
                            weightScheme: first.weight, inputScheme: first.input)
                        capture.divide(group: g, by: group.consumerScales(s))
                        if referenceBlock != nil { group.apply(s, to: &referenceBlock!) }
                        blockReports.append(AlgorithmReport(
                            algorithm: name, block: index, target: group.name,
                            choice: result.alpha.map { String(format: "alpha %.2f, outlier ratio %.1f → %.1f", $0, result.outlierRatioBefore, result.outlierRatioAfter) } ?? "unscaled",
                            lossBefore: result.lossBefore, lossAfter: result.lossAfter))
                    }
                    if name == "awq", let awq = steps.awq, let scheme = first.weight {
                        let (s, result) = try awq.searchScales(group, in: &block, statistics: capture.statistics[g], scheme: scheme)
                        capture.divide(group: g, by: group.consumerScales(s))
                        if referenceBlock != nil { group.apply(s, to: &referenceBlock!) }
                        blockReports.append(AlgorithmReport(
                            algorithm: name, block: index, target: group.name,
                            choice: result.ratio.map { String(format: "ratio %.2f", $0) } ?? "unscaled",
                            lossBefore: result.lossBefore, lossAfter: result.lossAfter))
                    }
                }
                if name == "awq", let awq = steps.awq, awq.configuration.clipsWeights {
                    for (g, group) in groups.enumerated() {
                        var gram: Tensor?  // one symmetric copy per group, shared by its consumers
                        for path in group.consumers where path != \LlamaModel.Block.queryProjection && path != \LlamaModel.Block.keyProjection {
                            guard let scheme = schemes[block[keyPath: path].name]!.weight else { continue }
                            if gram == nil { gram = capture.statistics[g].gram() }
                            let (clipped, result) = try awq.clip(
                                block[keyPath: path].weight, gram: gram!, rowCount: capture.statistics[g].rowCount, scheme: scheme)
                            block[keyPath: path].weight = clipped
                            blockReports.append(AlgorithmReport(
                                algorithm: "awq-clip", block: index, target: block[keyPath: path].name,
                                choice: String(format: "clipped %.0f%%", result.clippedFraction * 100),
                                lossBefore: result.lossBefore, lossAfter: result.lossAfter))
                        }
                    }
                }
            }
            var hessians: [Int: HessianAccumulator] = [:]
            for (g, group) in groups.enumerated() {
                for path in group.consumers {
                    let name = block[keyPath: path].name
                    guard let scheme = schemes[name]!.weight else { continue }
                    do {
                        if let gptq = steps.gptq {
                            if hessians[g] == nil {
                                let statistics = capture.statistics[g]
                                var gram = statistics.gram()
                                let factor = 2 / Float(statistics.rowCount)
                                for i in gram.scalars.indices { gram.scalars[i] *= factor }
                                hessians[g] = try HessianAccumulator(matrix: gram, sampleCount: statistics.rowCount)
                            }
                            let result = try gptq.quantize(block[keyPath: path].weight, hessian: hessians[g]!, scheme: scheme)
                            stored[name] = result.quantized
                            block[keyPath: path].setQuantizedWeight(result.quantized, dequantized: result.weight)
                            blockReports.append(AlgorithmReport(
                                algorithm: "gptq", block: index, target: name, choice: String(format: "damp %.3g", result.dampening),
                                lossBefore: result.rtnLoss, lossAfter: result.loss))
                        } else {
                            let quantized = try TensorQuantizer.quantize(block[keyPath: path].weight, scheme: scheme)
                            stored[name] = quantized
                            try block[keyPath: path].setQuantizedWeight(quantized)
                        }
                    } catch {
                        throw QuantizationError.layerFailed(layer: name, reason: "\(error)")
                    }
                }
            }
            model.blocks[index] = block
            if let referenceBlock { reference!.blocks[index] = referenceBlock }
            for w in states.indices { try model.forwardBlock(index, hiddenStates: &states[w]) }
            for line in summaryLines(blockReports, block: index, of: model.blocks.count) { log(line) }
            reports += blockReports
            progress(index + 1, model.blocks.count)
        }
        return (stored, reports)
    }

    /// One line per algorithm for a block: its choices and the summed loss before → after.
    static func summaryLines(_ reports: [AlgorithmReport], block: Int, of count: Int) -> [String] {
        var lines: [String] = []
        var seen: [String] = []
        for report in reports where !seen.contains(report.algorithm) { seen.append(report.algorithm) }
        for algorithm in seen {
            let mine = reports.filter { $0.algorithm == algorithm }
            let before = mine.compactMap(\.lossBefore).reduce(0, +), after = mine.compactMap(\.lossAfter).reduce(0, +)
            let choices = mine.map { "\($0.target.split(separator: ".").last.map(String.init) ?? $0.target): \($0.choice)" }
            var line = "block \(block + 1)/\(count) \(algorithm): " + choices.joined(separator: "; ")
            if mine.contains(where: { $0.lossBefore != nil }) { line += String(format: " | loss %.3g → %.3g", before, after) }
            lines.append(line)
        }
        return lines
    }
}
