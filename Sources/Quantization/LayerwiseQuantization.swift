import Foundation
import Inference
import QuantAlgorithms
import QuantCore
import TensorCore

/// Runs the block-wise algorithms of a recipe (SmoothQuant, AWQ, then GPTQ or round-to-nearest) one block at a time,
/// on any `TransformerModel`. Each block's calibration inputs are the previous blocks' outputs with their weights already quantized
/// (as GPTQ's reference does), so errors made earlier are seen and compensated later, and memory stays bounded by the
/// hidden states of the calibration set plus one block's statistics.
enum LayerwiseQuantization {
    /// The block-wise steps of a recipe in order, as the driver runs them: scale migrations, then at most one
    /// weight-rounding algorithm (round-to-nearest without one).
    struct Steps {
        var migrations: [any ScaleMigrating] = []
        var rounding: (any WeightRounding)?

        /// - Throws: `QuantError.invalidConfiguration` for a step that transforms the whole model.
        init(_ steps: [AlgorithmStep]) throws {
            for step in steps {
                switch step.role {
                case .scaleMigration(let algorithm): migrations.append(algorithm)
                case .weightRounding(let algorithm): rounding = algorithm
                case .modelTransform:
                    throw QuantError.invalidConfiguration(field: "algorithms", reason: "'\(step.name)' does not run block by block")
                }
            }
        }

        var needsGram: Bool { rounding != nil || migrations.contains { $0.calibrationNeeds.gram } }
        var needsSample: Bool { migrations.contains { $0.calibrationNeeds.sample } }
    }

    /// Rows kept per group for searches that run the data (SmoothQuant's α search).
    static let sampleRowTarget = 2048

    /// Runs `steps` over `model`'s blocks on `windows` and quantizes every planned block linear.
    /// - Parameters: `reference`: when given (the same float model as `model` on entry), receives every
    ///   function-preserving scale migration (SmoothQuant, AWQ scales) and nothing else, so it stays the float model
    ///   the quantized one approximates, in the same basis.
    /// - Returns: the stored weights of the block linears it quantized (the model holds their dequantized values)
    ///   and what each algorithm did.
    static func run<Model: TransformerModel>(
        _ model: inout Model, plan: QuantizationPlan, steps: Steps, windows: [[Int]],
        reference: inout Model?,
        progress: (Int, Int) -> Void = { _, _ in }, log: (String) -> Void = { _ in }
    ) throws -> (weights: [String: QuantizedTensor], reports: [AlgorithmReport]) {
        let schemes = Dictionary(uniqueKeysWithValues: plan.layers.map { ($0.name, $0) })
        let groups = model.scaleGroups
        // Block linears that no scale group feeds (a GELU MLP's output layer) get an input of their own.
        let fed = Set(groups.flatMap(\.consumers))
        let looseLinears = Model.Block.linearPaths.filter { !fed.contains($0) }
        let inputs: [[WritableKeyPath<Model.Block, Linear>]] = groups.map(\.consumers) + looseLinears.map { [$0] }
        var states = try windows.map { try model.embed($0) }
        let totalRows = windows.reduce(0) { $0 + $1.count }
        let sampleStride = steps.needsSample ? max(1, totalRows / sampleRowTarget) : 0
        var stored: [String: QuantizedTensor] = [:]
        var reports: [AlgorithmReport] = []
        for index in model.blocks.indices {
            let capture = BlockCapture(
                block: model.blocks[index], groups: groups, looseLinears: looseLinears, collectsGram: steps.needsGram,
                sampleStride: sampleStride)
            for w in states.indices {
                var x = states[w]
                try model.forwardBlock(index, hiddenStates: &x, hooks: capture)
                if let error = capture.firstError { throw QuantizationError.layerFailed(layer: "block \(index)", reason: "\(error)") }
                try requireFinite(x, place: "block \(index)'s output (float weights, calibration window \(w))", width: model.hiddenSize)
            }
            var block = model.blocks[index]
            var referenceBlock = reference?.blocks[index]
            var blockReports: [AlgorithmReport] = []
            func input(_ g: Int) -> ScaleGroupInput<Model.Block> {
                let group = groups[g]
                let names = group.consumers.map { block[keyPath: $0].name }
                let first = schemes[names[0]]!
                let sample = capture.samples[g].isEmpty ? nil
                    : Tensor(shape: [capture.samples[g].count / group.consumerWidth, group.consumerWidth], scalars: capture.samples[g])
                return ScaleGroupInput(
                    block: index, group: group, statistics: capture.statistics[g], sample: sample,
                    weightScheme: first.weight, inputScheme: first.input, consumerWeightSchemes: names.map { schemes[$0]!.weight })
            }
            for migration in steps.migrations {
                for g in groups.indices {
                    guard let (s, report) = try migration.migrate(input(g), in: &block) else { continue }
                    capture.divide(group: g, by: groups[g].consumerScales(s))
                    if referenceBlock != nil { groups[g].apply(s, to: &referenceBlock!) }
                    blockReports.append(report)
                }
                for g in groups.indices { blockReports += try migration.adjustWeights(input(g), in: &block) }
            }
            var hessians: [Int: HessianAccumulator] = [:]
            for (g, consumers) in inputs.enumerated() {
                for path in consumers {
                    let name = block[keyPath: path].name
                    guard let scheme = schemes[name]!.weight else { continue }
                    do {
                        if let rounding = steps.rounding {
                            if hessians[g] == nil { hessians[g] = try HessianAccumulator(statistics: capture.statistics[g]) }
                            let result = try rounding.round(
                                block[keyPath: path].weight, hessian: hessians[g]!, scheme: scheme, layer: name, block: index)
                            stored[name] = result.quantized
                            block[keyPath: path].setQuantizedWeight(result.quantized, dequantized: result.weight)
                            blockReports.append(result.report)
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
            for w in states.indices {
                try model.forwardBlock(index, hiddenStates: &states[w], hooks: nil)
                try requireFinite(states[w], place: "block \(index)'s output (quantized, calibration window \(w))", width: model.hiddenSize)
            }
            for line in summaryLines(blockReports, block: index, of: model.blocks.count) { log(line) }
            reports += blockReports
            progress(index + 1, model.blocks.count)
        }
        return (stored, reports)
    }

    /// Throws `QuantizationError.nonFiniteActivation` when `states` (`[T, width]`) holds NaN or ±infinity, so a broken
    /// block stops calibration where it happens instead of spreading NaN into every later statistic.
    static func requireFinite(_ states: [Float], place: String, width: Int) throws {
        guard let index = states.withUnsafeBufferPointer({ FiniteScan.firstNonFinite($0) }) else { return }
        throw QuantizationError.nonFiniteActivation(
            place: place, detail: "\(states[index]) at token \(index / max(width, 1)), feature \(index % max(width, 1))")
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
