/// Calibration methods for static scales (AMD Quark's observers; msModelSlim's `act_method`), with their settings.
public enum ObserverKind: Codable, Sendable, Equatable, Hashable {
    /// Range = [min, max] over every calibration batch.
    case minMax
    /// Exponential moving average of each batch's min and max: m ← m + momentum·(batch − m).
    case movingAverageMinMax(momentum: Float)
    /// Range clipped to the given percentile of |x| (e.g. 99.99).
    case percentile(Float)
    /// Clipping range searched to minimize the quantization MSE of the collected values.
    case mse
    /// Histogram of |x| with `bins` bins; threshold chosen to minimize the KL divergence between the clipped and
    /// quantized distributions (TensorRT entropy calibration).
    case histogramKL(bins: Int)
    /// msModelSlim `act_method=3` style: histogram/KL when max|x|/std ≤ 50 (a well-behaved range), MinMax when the
    /// range is dominated by outliers (so they are not clipped); see `HybridObserver`.
    case hybrid(bins: Int)

    enum CodingKeys: String, CodingKey { case method, momentum, percentile, bins }

    /// Names recipes use for `observer.method`.
    public static let methodNames = ["minmax", "moving_average", "percentile", "mse", "histogram", "hybrid"]

    public init(from decoder: any Decoder) throws {
        // Accept a bare string ("minmax") or an object ({"method": "percentile", "percentile": 99.9}).
        if let single = try? decoder.singleValueContainer(), let name = try? single.decode(String.self) {
            self = try Self.make(name, momentum: nil, percentile: nil, bins: nil)
            return
        }
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self = try Self.make(
            try c.decode(String.self, forKey: .method), momentum: try c.decodeIfPresent(Float.self, forKey: .momentum),
            percentile: try c.decodeIfPresent(Float.self, forKey: .percentile), bins: try c.decodeIfPresent(Int.self, forKey: .bins))
    }

    /// The observer `name` (one of `methodNames`) with its settings, defaults for those left nil.
    /// - Throws: `QuantError.invalidConfiguration` for an unknown name or an impossible setting.
    public static func make(_ name: String, momentum: Float?, percentile: Float?, bins: Int?) throws -> ObserverKind {
        let kind: ObserverKind
        switch name {
        case "minmax": kind = .minMax
        case "moving_average": kind = .movingAverageMinMax(momentum: momentum ?? 0.01)
        case "percentile": kind = .percentile(percentile ?? 99.99)
        case "mse": kind = .mse
        case "histogram": kind = .histogramKL(bins: bins ?? 2048)
        case "hybrid": kind = .hybrid(bins: bins ?? 2048)
        default:
            throw QuantError.invalidConfiguration(
                field: "observer", reason: "unknown method '\(name)'; allowed: \(methodNames.joined(separator: ", "))")
        }
        try kind.validate()
        return kind
    }

    /// The recipe name of this method (one of `methodNames`).
    public var methodName: String {
        switch self {
        case .minMax: "minmax"
        case .movingAverageMinMax: "moving_average"
        case .percentile: "percentile"
        case .mse: "mse"
        case .histogramKL: "histogram"
        case .hybrid: "hybrid"
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(methodName, forKey: .method)
        switch self {
        case .minMax, .mse: break
        case let .movingAverageMinMax(momentum): try c.encode(momentum, forKey: .momentum)
        case let .percentile(p): try c.encode(p, forKey: .percentile)
        case let .histogramKL(bins), let .hybrid(bins): try c.encode(bins, forKey: .bins)
        }
    }

    /// Checks settings are in range.
    public func validate() throws(QuantError) {
        switch self {
        case .minMax, .mse: break
        case let .movingAverageMinMax(momentum):
            guard momentum > 0, momentum <= 1 else { throw .invalidConfiguration(field: "observer.momentum", reason: "must be in (0, 1], got \(momentum)") }
        case let .percentile(p):
            guard p > 50, p <= 100 else { throw .invalidConfiguration(field: "observer.percentile", reason: "must be in (50, 100], got \(p)") }
        case let .histogramKL(bins), let .hybrid(bins):
            guard bins >= 128, bins <= 1 << 16 else { throw .invalidConfiguration(field: "observer.bins", reason: "must be in 128...65536, got \(bins)") }
        }
    }
}
