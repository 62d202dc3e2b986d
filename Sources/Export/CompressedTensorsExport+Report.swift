import Foundation

extension CompressedTensorsExport {
    /// What an export wrote, for the terminal and as JSON.
    public struct Report: Encodable, Sendable {
        public var source: String
        public var output: String
        /// The checkpoint's `format`.
        public var format: String
        /// Targets of each config group.
        public var groups: [String: [String]] = [:]
        /// Layers kept in float (`ignore`).
        public var ignore: [String] = []
        /// Linear layers written from their own saved codes.
        public var quantizedLayers = 0
        /// Linear layers written as float weights, in model order.
        public var floatLayers: [String] = []
        /// Static or dynamic activation quantizers written into the groups.
        public var activationPoints = 0
        public var kvCacheQuantized = false
        public var tokenizerFiles: [String] = []
        public var fileBytes = 0
        /// Stored bits per linear weight element, scales and zero points included.
        public var linearBitsPerWeight: Double = 0
        public var seconds: Double = 0

        init(source: String, output: String, format: String) {
            self.source = source
            self.output = output
            self.format = format
        }

        enum CodingKeys: String, CodingKey {
            case source, output, format, groups, ignore, seconds
            case quantizedLayers = "quantized_layers"
            case floatLayers = "float_layers"
            case activationPoints = "activation_points"
            case kvCacheQuantized = "kv_cache_quantized"
            case tokenizerFiles = "tokenizer_files"
            case fileBytes = "file_bytes"
            case linearBitsPerWeight = "linear_bits_per_weight"
        }

        /// A few lines for the terminal.
        public var humanReadable: String {
            var lines = [
                "wrote \(output) (compressed-tensors \(format), \(String(format: "%.1f", Double(fileBytes) / 1_048_576)) MiB model.safetensors) from \(source)",
                "  \(quantizedLayers) linear layers from their saved codes, \(floatLayers.count) float"
                    + (activationPoints > 0 ? ", \(activationPoints) activation quantizers" : "")
                    + (kvCacheQuantized ? ", KV cache quantized" : "")
                    + String(format: "; %.2f bits per linear weight", linearBitsPerWeight),
            ]
            for (name, targets) in groups.sorted(by: { $0.key < $1.key }) {
                lines.append("  \(name): \(targets.joined(separator: ", "))")
            }
            if !ignore.isEmpty { lines.append("  ignore: \(ignore.joined(separator: ", "))") }
            lines.append(
                tokenizerFiles.isEmpty
                    ? "  no tokenizer (the source has none)" : "  tokenizer: \(tokenizerFiles.joined(separator: ", "))")
            lines.append(String(format: "  %.1f s", seconds))
            return lines.joined(separator: "\n")
        }
    }
}
