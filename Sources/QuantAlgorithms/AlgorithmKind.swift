/// The post-training algorithms a recipe or `quanta quantize --algorithm` can name, in the spelling users type.
public enum AlgorithmKind: String, CaseIterable, Codable, Sendable {
    /// GPTQ (Frantar et al. 2022): Hessian-guided column-by-column rounding with error feedback.
    case gptq
    /// AWQ (Lin et al. 2023): activation-aware per-channel weight scaling and clipping search.
    case awq
    /// SmoothQuant (Xiao et al. 2022): migrates activation outliers into the weights.
    case smoothquant
    /// QuaRot-style rotation (Ashkboos et al. 2024): randomized Hadamard rotation of the residual stream.
    case rotation

    /// Parses a user-typed name (case-insensitive, `smooth_quant` and `smooth-quant` accepted).
    public init?(name: String) {
        let key = String(name.lowercased().filter { $0 != "_" && $0 != "-" })
        self.init(rawValue: key)
    }
}
