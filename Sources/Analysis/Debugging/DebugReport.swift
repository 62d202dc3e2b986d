/// The quantization debugger's findings for one model, recipe and input batch: `summary.json`, and what the HTML
/// report renders. Layers are in model order.
public struct DebugReport: Codable, Sendable, Equatable {
    /// One quantized linear layer's summary metrics.
    public struct Layer: Codable, Sendable, Equatable {
        public var name: String
        /// Position among the model's linear layers.
        public var index: Int
        /// Whether the recipe quantizes this layer's input (otherwise QDQ(x) = x and the io error is 0).
        public var inputQuantized: Bool
        /// mean(|QDQ(x) − x| / (|x| + ε)) at the layer's input.
        public var ioError: Double
        /// mean(|x − x_ref| / (|x_ref| + ε)).
        public var referenceInputError: Double
        /// mean(|QDQ(x) − x_ref| / (|x_ref| + ε)).
        public var referenceOutputError: Double
        /// mean(|QDQ(W) − W| / (|W| + ε)).
        public var weightError: Double
        /// SQNR of QDQ(x) against x_ref, dB.
        public var sqnrDecibels: Double
        /// SQNR of QDQ(W) against W, dB.
        public var weightSQNRDecibels: Double
        /// The float input's (max − min) / mean|x|.
        public var rangeParameter: Double
        public var referenceAbsMax: Double
        public var referenceAbsMean: Double
        /// Largest over median per-channel abs-mean of the float input.
        public var channelPeakRatio: Double
        /// Input channels with the largest abs-mean, largest first.
        public var topChannels: [Int]
        /// The cheap sensitivity (input range parameter when the input is quantized, else the weight's
        /// (max − min) / std).
        public var cheapSensitivity: Double
        /// KL(P_float ‖ P) of the final logits with only this layer quantized, nats/token; nil when not measured.
        public var measuredKL: Double?

        public init(
            name: String, index: Int, inputQuantized: Bool, ioError: Double, referenceInputError: Double,
            referenceOutputError: Double,
            weightError: Double, sqnrDecibels: Double, weightSQNRDecibels: Double, rangeParameter: Double,
            referenceAbsMax: Double,
            referenceAbsMean: Double, channelPeakRatio: Double, topChannels: [Int], cheapSensitivity: Double,
            measuredKL: Double?
        ) {
            self.name = name
            self.index = index
            self.inputQuantized = inputQuantized
            self.ioError = ioError
            self.referenceInputError = referenceInputError
            self.referenceOutputError = referenceOutputError
            self.weightError = weightError
            self.sqnrDecibels = sqnrDecibels
            self.weightSQNRDecibels = weightSQNRDecibels
            self.rangeParameter = rangeParameter
            self.referenceAbsMax = referenceAbsMax
            self.referenceAbsMean = referenceAbsMean
            self.channelPeakRatio = channelPeakRatio
            self.topChannels = topChannels
            self.cheapSensitivity = cheapSensitivity
            self.measuredKL = measuredKL
        }

        enum CodingKeys: String, CodingKey {
            case name, index
            case inputQuantized = "input_quantized"
            case ioError = "io_error"
            case referenceInputError = "ref_input_error"
            case referenceOutputError = "ref_output_error"
            case weightError = "weight_error"
            case sqnrDecibels = "sqnr_db"
            case weightSQNRDecibels = "weight_sqnr_db"
            case rangeParameter = "range_parm"
            case referenceAbsMax = "ref_abs_max"
            case referenceAbsMean = "ref_abs_mean"
            case channelPeakRatio = "channel_peak_ratio"
            case topChannels = "top_channels"
            case cheapSensitivity = "cheap_sensitivity"
            case measuredKL = "measured_kl"
        }
    }

    public var model: String
    public var recipe: String
    /// Where the analysis batch came from (a file, or the first calibration batch).
    public var inputSource: String
    public var inputTokens: Int
    /// ε of the relative errors.
    public var epsilon: Double
    /// KL(P_float ‖ P_quantized) of the whole quantized model's next-token distributions, nats/token.
    public var outputKL: Double
    public var outputTop1Agreement: Double
    /// Reference pass, quantized pass, weight statistics and plots.
    public var analysisSeconds: Double
    /// The one-layer-at-a-time passes; nil when not measured.
    public var sensitivitySeconds: Double?
    /// Spearman's ρ between cheap and measured sensitivity over the layers.
    public var sensitivityRankCorrelation: Double?
    public var layers: [Layer]

    enum CodingKeys: String, CodingKey {
        case model, recipe, epsilon, layers
        case inputSource = "input_source"
        case inputTokens = "input_tokens"
        case outputKL = "output_kl"
        case outputTop1Agreement = "output_top1_agreement"
        case analysisSeconds = "analysis_seconds"
        case sensitivitySeconds = "sensitivity_seconds"
        case sensitivityRankCorrelation = "sensitivity_spearman"
    }

    public init(
        model: String, recipe: String, inputSource: String, inputTokens: Int, outputKL: Double,
        outputTop1Agreement: Double,
        layers: [Layer]
    ) {
        self.model = model
        self.recipe = recipe
        self.inputSource = inputSource
        self.inputTokens = inputTokens
        epsilon = ErrorMetrics.epsilon
        self.outputKL = outputKL
        self.outputTop1Agreement = outputTop1Agreement
        analysisSeconds = 0
        self.layers = layers
        updateRankCorrelation()
    }

    /// Recomputes `sensitivityRankCorrelation` from the layers that have a measured KL.
    public mutating func updateRankCorrelation() {
        let measured = layers.filter { $0.measuredKL != nil }
        sensitivityRankCorrelation =
            measured.count < 2
            ? nil
            : RankCorrelation.spearman(measured.map(\.cheapSensitivity), measured.map { $0.measuredKL! })
    }

    /// Layers from most to least harmful: by measured KL when measured, else by the cheap sensitivity; ties by model
    /// order. (Not by the relative errors: elements whose reference is near zero dominate those.)
    public var ranking: [Layer] {
        let measured = layers.contains { $0.measuredKL != nil }
        return layers.sorted { a, b in
            let (x, y) =
                measured ? (a.measuredKL ?? -1, b.measuredKL ?? -1) : (a.cheapSensitivity, b.cheapSensitivity)
            return x != y ? x > y : a.index < b.index
        }
    }
}
