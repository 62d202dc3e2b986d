import Foundation
import ModelFormats

extension GGUFExport {
    /// What an export wrote and what it cost, for the terminal and as JSON.
    public struct Report: Encodable, Sendable {
        public var source: String
        public var output: String
        public var fileBytes = 0
        /// Tensors written per GGML type name.
        public var tensorTypes: [String: Int] = [:]
        /// Linear layers written from their own saved codes.
        public var layersFromCodes = 0
        /// Layers re-quantized from their dequantized weights, in model order.
        public var requantizedLayers: [String] = []
        public var requantizeType: String?
        /// Activation and KV-cache quantizers left out of the file.
        public var droppedQuantizers: [String] = []
        /// What storing scales (and minimums) in float16 changed in the layers written from their codes.
        public var scaleRounding = WeightChange()
        /// What re-quantization changed, against the weights Quanta computes with.
        public var requantization = WeightChange()
        /// Layers whose saved codes were carried into a K-quant, in model order.
        public var codesCarriedLayers: [String] = []
        /// What re-quantizing their group scales to the K-quant's 6- or 8-bit sub-block scales changed.
        public var kQuantScaleRounding = WeightChange()
        /// Tensors whose rows are not whole K-quant super-blocks: name → "REQUESTED→WRITTEN", as `llama-quantize`.
        public var typeFallbacks: [String: String] = [:]
        /// What the type of float weights changed (embedding, float linears): float16 rounding or a quantizer.
        public var floatConversion = WeightChange()
        /// Stored bits per linear weight element, block scales included.
        public var linearBitsPerWeight: Double = 0
        public var seconds: Double = 0

        public init(source: String, output: String) {
            self.source = source
            self.output = output
        }

        enum CodingKeys: String, CodingKey {
            case source, output, seconds
            case fileBytes = "file_bytes"
            case tensorTypes = "tensor_types"
            case layersFromCodes = "layers_from_codes"
            case requantizedLayers = "requantized_layers"
            case requantizeType = "requantize_type"
            case droppedQuantizers = "dropped_quantizers"
            case scaleRounding = "scale_rounding"
            case requantization
            case codesCarriedLayers = "codes_carried_layers"
            case kQuantScaleRounding = "k_quant_scale_rounding"
            case typeFallbacks = "type_fallbacks"
            case floatConversion = "float_conversion"
            case linearBitsPerWeight = "linear_bits_per_weight"
        }

        /// Records a K-quant's fallback for `name` (nothing when `written` is what was requested).
        mutating func noteFallback(_ name: String, requested: GGMLType, written: GGMLType) {
            if written != requested { typeFallbacks[name] = "\(requested.name)→\(written.name)" }
        }

        /// Several lines for a terminal.
        public var humanReadable: String {
            let types = tensorTypes.keys.sorted().map { "\(tensorTypes[$0]!)×\($0)" }.joined(separator: ", ")
            var lines = [
                "source:       \(source)",
                "tensors:      \(types)",
                "codes kept:   \(layersFromCodes) linear layers written from their saved codes",
                String(format: "bits/weight:  %.3f (linear weights, scales included)", linearBitsPerWeight),
            ]
            if scaleRounding.elementCount > 0 {
                lines.append(
                    String(
                        format:
                            "fp16 scales:  max change %.3g (%.4f of a step, %.2e relative), rms change %.2e of the weights",
                        scaleRounding.maxAbsoluteChange, scaleRounding.maxChangeInSteps,
                        scaleRounding.maxRelativeChange,
                        scaleRounding.relativeRMSChange))
            }
            if floatConversion.elementCount > 0 {
                lines.append(
                    String(
                        format: "float layers: max change %.3g, rms change %.2e of the weights",
                        floatConversion.maxAbsoluteChange,
                        floatConversion.relativeRMSChange))
            }
            if !requantizedLayers.isEmpty {
                lines.append(
                    String(
                        format:
                            "requantized:  %d layers to %@ from their dequantized weights: rms error %.2e of the weights, max %.3g",
                        requantizedLayers.count, requantizeType ?? "?", requantization.relativeRMSChange,
                        requantization.maxAbsoluteChange))
            }
            if !codesCarriedLayers.isEmpty {
                lines.append(
                    String(
                        format:
                            "codes carried: %d layers to %@ with their scales re-quantized: max change %.3f of a step, rms change %.2e of the weights",
                        codesCarriedLayers.count, requantizeType ?? "?", kQuantScaleRounding.maxChangeInSteps,
                        kQuantScaleRounding.relativeRMSChange))
            }
            if !typeFallbacks.isEmpty {
                let kinds = Dictionary(grouping: typeFallbacks.values, by: { $0 }).mapValues(\.count)
                lines.append(
                    "fallbacks:    "
                        + kinds.keys.sorted().map { "\(kinds[$0]!)×\($0)" }.joined(separator: ", ")
                        + " (rows not whole super-blocks of 256, as llama-quantize)")
            }
            if !droppedQuantizers.isEmpty {
                lines.append(
                    "dropped:      \(droppedQuantizers.count) activation/KV-cache quantizers (llama.cpp runs them in float)"
                )
            }
            lines.append(
                String(format: "written:      %@ (%.1f MB) in %.1f s", output, Double(fileBytes) / 1e6, seconds))
            return lines.joined(separator: "\n")
        }
    }
}
