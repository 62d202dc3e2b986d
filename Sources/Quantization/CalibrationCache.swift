import Foundation
import Inference
import QuantAlgorithms
import QuantCore

/// Calibration kept across quantizations of one model, so a recipe can be quantized again (another activation scheme
/// at some layers, layers rolled back) without another calibration pass where its changes allow: the calibration
/// windows, and every static point's observer (its accumulated statistics), by the scheme that made it.
///
/// Calibration runs the model with its weights already quantized, so a point's statistics depend on every weight
/// before it. `Reuse.exact` therefore reuses an observer only for the same weights (the same weight schemes per
/// layer and the same algorithms): the result is then what a run without the cache computes, bit for bit.
/// `Reuse.acrossWeightChanges` also reuses it when layers' weight schemes changed (raised or rolled-back layers move
/// the activations downstream a little; the algorithms must be the same): cheap and close, for screening candidates, not for the model that is saved.
public final class CalibrationCache: @unchecked Sendable {
    public enum Reuse: Sendable { case exact, acrossWeightChanges }

    struct Key: Hashable {
        var calibration: QuantRecipe.Calibration
        /// The weights the statistics were observed with (empty under `acrossWeightChanges`).
        var weights: String
        var point: QuantizationPoint
        var scheme: QuantScheme
    }

    struct WindowKey: Hashable {
        var calibration: QuantRecipe.Calibration
        var weights: String
    }

    public let reuse: Reuse
    /// What every view of this cache shares (`sharing(reuse:)`).
    private final class Storage: @unchecked Sendable {
        let lock = NSLock()
        var windows: [WindowKey: [[Int]]] = [:]
        var observers: [Key: any Observer] = [:]
        /// The float model after the recipe's whole-model transforms (rotation), by the transforms' configuration: a
        /// transform depends only on the float weights and its own settings, so it is computed once per configuration.
        var transformed: [String: LlamaModel] = [:]
        var passes = 0
        var reusedObservers = 0
    }
    private let storage: Storage
    private var lock: NSLock { storage.lock }
    /// Calibration passes run over a whole window set (each over every window), and observers reused.
    public var passes: Int { lock.withLock { storage.passes } }
    public var reusedObservers: Int { lock.withLock { storage.reusedObservers } }

    public init(reuse: Reuse = .exact) {
        self.reuse = reuse
        storage = Storage()
    }

    private init(reuse: Reuse, storage: Storage) {
        (self.reuse, self.storage) = (reuse, storage)
    }

    /// The same statistics, reused by another rule. Every observer is also kept under the exact weights it was observed
    /// with, so an `exact` view of a cache filled while screening gives a model that is what a run without the cache
    /// computes, bit for bit, whenever its weights are those of an earlier pass.
    public func sharing(reuse: Reuse) -> CalibrationCache {
        CalibrationCache(reuse: reuse, storage: storage)
    }

    /// What the weights of `plan` are made of, as a key: each layer's weight scheme and the algorithms (with the input
    /// schemes when a block-wise algorithm reads them).
    func weightKey(_ plan: QuantizationPlan) -> String { Self.weightKey(plan, reuse: reuse) }

    static func weightKey(_ plan: QuantizationPlan, reuse: Reuse) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let algorithms = (try? encoder.encode(plan.recipe.algorithms)).map { String(decoding: $0, as: UTF8.self) } ?? ""
        // Algorithms change the basis (rotation) or the scale (SmoothQuant) of the activations themselves: their
        // statistics are never shared, whatever the reuse.
        guard reuse == .exact else { return algorithms }
        let readsInputs = plan.recipe.algorithms.contains { $0.stage != .wholeModel }
        let layers = plan.layers.map { layer in
            [layer.name, (try? encoder.encode(layer.weight)).map { String(decoding: $0, as: UTF8.self) } ?? "float",
             readsInputs ? (try? encoder.encode(layer.input)).map { String(decoding: $0, as: UTF8.self) } ?? "" : ""]
        }
        return algorithms + "|" + layers.map { $0.joined(separator: ",") }.joined(separator: ";")
    }

    /// The key of a list of whole-model transform steps.
    static func transformKey(_ steps: [AlgorithmStep]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return (try? encoder.encode(steps)).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }

    func transformedModel(_ key: String) -> LlamaModel? {
        lock.withLock { storage.transformed[key] }
    }

    func store(transformed model: LlamaModel, for key: String) {
        lock.withLock { storage.transformed[key] = model }
    }

    func windows(for calibration: QuantRecipe.Calibration, weights: String) -> [[Int]]? {
        // Windows read from a file do not depend on the weights; generated ones come from the model.
        let key = WindowKey(calibration: calibration, weights: calibration.file == nil && calibration.tokenFile == nil ? weights : "")
        return lock.withLock { storage.windows[key] }
    }

    func store(windows made: [[Int]], for calibration: QuantRecipe.Calibration, weights: String) {
        let key = WindowKey(calibration: calibration, weights: calibration.file == nil && calibration.tokenFile == nil ? weights : "")
        lock.withLock { storage.windows[key] = made }
    }

    func observer(_ point: QuantizationPoint, _ scheme: QuantScheme, calibration: QuantRecipe.Calibration, plan: QuantizationPlan)
        -> (any Observer)?
    {
        let key = Key(calibration: calibration, weights: weightKey(plan), point: point, scheme: scheme)
        return lock.withLock {
            let found = storage.observers[key]
            if found != nil { storage.reusedObservers += 1 }
            return found
        }
    }

    /// Keeps what a pass observed, under this view's key and under the exact weights of `plan`.
    func store(
        _ observed: [QuantizationPoint: any Observer], schemes: [QuantizationPoint: QuantScheme],
        calibration: QuantRecipe.Calibration, plan: QuantizationPlan
    ) {
        let keys = Set([weightKey(plan), Self.weightKey(plan, reuse: .exact)])
        lock.withLock {
            storage.passes += 1
            for (point, observer) in observed {
                for weights in keys {
                    storage.observers[Key(calibration: calibration, weights: weights, point: point, scheme: schemes[point]!)] = observer
                }
            }
        }
    }
}
