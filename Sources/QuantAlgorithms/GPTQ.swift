import QuantCore
import TensorCore

/// GPTQ (Frantar et al. 2022, Alg. 1): quantizes a weight's columns one at a time and spreads each column's rounding
/// error over the columns not yet quantized through the Cholesky factor of H⁻¹, minimizing the layer's output error
/// `‖W·Xᵀ − Q·Xᵀ‖²` on calibration inputs (H = 2/n · XᵀX, see `HessianAccumulator`).
///
/// Follows the IST-DASLab reference `fasterquant`: dead inputs (diag(H) = 0) get H[i,i] = 1 and W[:, i] = 0;
/// dampening adds `dampening · mean(diag H)` to the diagonal; error propagation uses the upper Cholesky factor of
/// H⁻¹ (the reference computes H → H⁻¹ → Cholesky in float32; here the same factor comes from one float64
/// factorization of the reversed H and a triangular inverse, `Cholesky.inverseUpperFactor`) and is batched over
/// `blockSize` columns with one GEMM for the rest;
/// act-order processes columns by decreasing diag(H). Departures:
/// - A group's parameters come from the group's *current* columns (all updates from earlier columns applied). The
///   reference reads them from its stale global `W` when a group starts inside a block, so its result depends on the
///   block size unless group starts fall on block starts; here blocks are cut at group starts instead.
/// - `staticGroups` only matters with `actOrder` (without it groups are always computed when reached, classic GPTQ).
/// - A failed Cholesky is retried with ten times the dampening (AutoGPTQ-style) instead of failing at once.
/// - act-order with dynamic groups (`staticGroups == false`, per-group scheme) is rejected: its groups are sets of
///   permuted columns, which `QuantizedTensor` cannot store (it has no `g_idx`).
public struct GPTQ: Sendable {
    /// Settings. The initializer's defaults are the paper's and the reference implementation's; a recipe that names
    /// `gptq` without a setting (and `--algorithm gptq`) gets `recommended`'s value for it instead.
    public struct Configuration: Codable, Sendable, Equatable {
        /// Columns per lazy batch update (the paper's B = 128).
        public var blockSize: Int = 128
        /// Fraction of mean(diag H) added to the diagonal (the reference's `percdamp`, 0.01).
        public var dampening: Float = 0.01
        /// Processes columns by decreasing diag(H) ("desc_act").
        public var actOrder: Bool = false
        /// With `actOrder`: group parameters are fixed up front from the original weight in natural column order and
        /// each column uses its natural group's parameters (keeps the stored layout of consecutive groups).
        public var staticGroups: Bool = true
        /// When the Cholesky factorization fails, the dampening is multiplied by 10 (0 becomes 0.01) and the solve
        /// retried, up to this many times.
        public var maxDampeningRetries: Int = 5
        /// Searches each dynamic group's range per output row (the reference's `mse` option of `find_params`): the
        /// min/max shrink by 1%, 2%, ... up to 80% and the range with the least rounding error of the group's
        /// current weights is kept. The reference measures |error|^2.4 alike on every column; Quanta weighs each
        /// column's squared error by diag(H), the cost of an error on that input in the layer's output. A weight
        /// scheme whose observer is `mse` turns this on as well.
        public var searchesRange: Bool = false

        enum CodingKeys: String, CodingKey, CaseIterable {
            case blockSize = "block_size"
            case dampening
            case actOrder = "act_order"
            case staticGroups = "static_groups"
            case maxDampeningRetries = "max_dampening_retries"
            case searchesRange = "mse"
        }

        /// - Throws: `QuantError.invalidConfiguration` as `validate()`.
        public init(
            blockSize: Int = 128, dampening: Float = 0.01, actOrder: Bool = false, staticGroups: Bool = true,
            maxDampeningRetries: Int = 5, searchesRange: Bool = false
        ) throws(QuantError) {
            self.searchesRange = searchesRange
            self.blockSize = blockSize
            self.dampening = dampening
            self.actOrder = actOrder
            self.staticGroups = staticGroups
            self.maxDampeningRetries = maxDampeningRetries
            try validate()
        }

        /// The best settings measured on SmolLM2-135M (benchmarks/algorithms.py, uint4 g64 and g128, 128 x 512
        /// calibration tokens): act-order with static groups and the diag(H)-weighted range search. Plain GPTQ (the
        /// paper's settings) closed about a quarter of round-to-nearest's perplexity gap at g64 and, with 4 x 128
        /// calibration tokens, ended worse than round-to-nearest at g128; these settings close three quarters.
        public static let recommended = try! Configuration(actOrder: true, staticGroups: true, searchesRange: true)

        /// Missing keys take `recommended`'s values.
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let base = Self.recommended
            try self.init(
                blockSize: try c.decodeIfPresent(Int.self, forKey: .blockSize) ?? base.blockSize,
                dampening: try c.decodeIfPresent(Float.self, forKey: .dampening) ?? base.dampening,
                actOrder: try c.decodeIfPresent(Bool.self, forKey: .actOrder) ?? base.actOrder,
                staticGroups: try c.decodeIfPresent(Bool.self, forKey: .staticGroups) ?? base.staticGroups,
                maxDampeningRetries: try c.decodeIfPresent(Int.self, forKey: .maxDampeningRetries) ?? base.maxDampeningRetries,
                searchesRange: try c.decodeIfPresent(Bool.self, forKey: .searchesRange) ?? base.searchesRange)
        }

        /// - Throws: `QuantError.invalidConfiguration` for `blockSize <= 0`, a negative or non-finite `dampening`, or
        ///   negative `maxDampeningRetries`.
        public func validate() throws(QuantError) {
            guard blockSize > 0 else {
                throw .invalidConfiguration(field: "block_size", reason: "GPTQ.blockSize must be > 0, got \(blockSize)")
            }
            guard dampening >= 0, dampening.isFinite else {
                throw .invalidConfiguration(
                    field: "dampening", reason: "GPTQ.dampening must be a finite fraction >= 0, got \(dampening)")
            }
            guard maxDampeningRetries >= 0 else {
                throw .invalidConfiguration(
                    field: "max_dampening_retries",
                    reason: "GPTQ.maxDampeningRetries must be >= 0, got \(maxDampeningRetries)")
            }
        }
    }

    /// A quantized weight and its proxy errors.
    public struct Result: Sendable {
        /// Codes and parameters in the layout `TensorQuantizer.quantize(weight, scheme:)` produces.
        public var quantized: QuantizedTensor
        /// `quantized.dequantized()`, `[outFeatures, inFeatures]`.
        public var weight: Tensor
        /// Proxy output error `tr((W − Q) · H · (W − Q)ᵀ) / outFeatures` against the accumulated (undamped) H.
        public var loss: Double
        /// The same proxy for round-to-nearest (`TensorQuantizer.fakeQuantize(weight, scheme:)`).
        public var rtnLoss: Double
        /// The dampening fraction finally used (larger than configured after Cholesky retries).
        public var dampening: Float
    }

    public let configuration: Configuration

    public init(_ configuration: Configuration) {
        self.configuration = configuration
    }

    /// Quantizes `weight` with GPTQ under an integer `scheme` (per channel along axis 0, or per group).
    /// - Parameters: `weight`: `[outFeatures, inFeatures]`; `hessian`: accumulated over `inFeatures` columns.
    /// - Throws: `QuantError.shapeMismatch` when the weight is not rank 2 or its `inFeatures` differ from the Hessian's
    ///   columns; `.invalidConfiguration` for a non-integer format, per-tensor/per-token/per-block granularity, a
    ///   per-channel axis other than 0, act-order with dynamic groups, or a Hessian that stays indefinite after all
    ///   dampening retries; `.noCalibrationData` for an empty accumulator; `.nonFiniteInput` for a NaN or infinite
    ///   weight (or a solve that diverges).
    public func quantize(_ weight: Tensor, hessian: HessianAccumulator, scheme: QuantScheme) throws(QuantError)
        -> Result
    {
        let problem = try Problem(weight: weight, hessian: hessian, scheme: scheme, configuration: configuration)
        let solution = try problem.solve(blockSize: configuration.blockSize)
        return try problem.result(solution, weight: weight, hessian: hessian)
    }

    /// Plain column-by-column GPTQ without lazy batching, in the natural weight layout: the reference the fast path
    /// is tested against. Same inputs, outputs and errors as `quantize`.
    public func quantizeReference(
        _ weight: Tensor, hessian: HessianAccumulator, scheme: QuantScheme
    ) throws(QuantError) -> Result {
        let problem = try Problem(weight: weight, hessian: hessian, scheme: scheme, configuration: configuration)
        let solution = try problem.solveReference()
        return try problem.result(solution, weight: weight, hessian: hessian)
    }
}

extension GPTQ: WeightRounding {
    public func round(_ weight: Tensor, hessian: HessianAccumulator, scheme: QuantScheme, layer: String, block: Int) throws
        -> (quantized: QuantizedTensor, weight: Tensor, report: AlgorithmReport)
    {
        let result = try quantize(weight, hessian: hessian, scheme: scheme)
        return (result.quantized, result.weight, AlgorithmReport(
            algorithm: "gptq", block: block, target: layer, choice: String(format: "damp %.3g", result.dampening),
            lossBefore: result.rtnLoss, lossAfter: result.loss))
    }
}
