import Foundation

extension ONNXExport {
    /// What an ONNX export wrote, for the terminal and as JSON.
    public struct Report: Encodable, Sendable {
        public var source: String
        public var output: String
        public var fileBytes = 0
        /// The external data file, when the tensors went to one.
        public var dataFile: String?
        public var dataFileBytes = 0
        public var opset = ONNXExport.opsetVersion
        public var nodeCount = 0
        /// Linear weights written per kind (`uint4, groups of 32`, `int8 per output channel`, `float32`).
        public var weightKinds: [String: Int] = [:]
        /// Linear layers written from their own saved codes (DequantizeLinear), unchanged.
        public var layersFromCodes = 0
        /// Calibrated activation and KV-cache quantizers written as QuantizeLinear/DequantizeLinear pairs.
        public var staticActivationQuantizers = 0
        /// Per-token dynamic quantizers written as their formula.
        public var dynamicActivationQuantizers = 0
        /// Online input rotations written as a MatMul by their matrix.
        public var onlineRotations = 0
        /// Stored bits per linear weight element, scales and zero points included.
        public var linearBitsPerWeight: Double = 0
        /// onnxruntime session options the file needs to compute what Quanta computes.
        public var runtimeNotes: [String] = []
        public var seconds: Double = 0

        public init(source: String, output: String) {
            self.source = source
            self.output = output
        }

        enum CodingKeys: String, CodingKey {
            case source, output, opset, seconds
            case fileBytes = "file_bytes"
            case dataFile = "data_file"
            case dataFileBytes = "data_file_bytes"
            case nodeCount = "node_count"
            case weightKinds = "weight_kinds"
            case layersFromCodes = "layers_from_codes"
            case staticActivationQuantizers = "static_activation_quantizers"
            case dynamicActivationQuantizers = "dynamic_activation_quantizers"
            case onlineRotations = "online_rotations"
            case linearBitsPerWeight = "linear_bits_per_weight"
            case runtimeNotes = "runtime_notes"
        }

        /// Several lines for a terminal.
        public var humanReadable: String {
            let kinds = weightKinds.keys.sorted().map { "\(weightKinds[$0]!)×\($0)" }.joined(separator: "; ")
            var lines = [
                "source:       \(source)",
                "graph:        \(nodeCount) nodes, opset \(opset)",
                "weights:      \(kinds)",
                "codes kept:   \(layersFromCodes) linear layers written from their saved codes (DequantizeLinear)",
                String(
                    format: "bits/weight:  %.3f (linear weights, scales and zero points included)", linearBitsPerWeight),
            ]
            if staticActivationQuantizers + dynamicActivationQuantizers > 0 {
                lines.append(
                    "activations:  \(staticActivationQuantizers) static QuantizeLinear/DequantizeLinear pairs, "
                        + "\(dynamicActivationQuantizers) dynamic per-token quantizers")
            }
            if onlineRotations > 0 { lines.append("rotations:    \(onlineRotations) online input rotations (MatMul)") }
            var written = String(format: "written:      %@ (%.1f MB)", output, Double(fileBytes) / 1e6)
            if let dataFile { written += String(format: " + %@ (%.1f MB)", dataFile, Double(dataFileBytes) / 1e6) }
            lines.append(written + String(format: " in %.1f s", seconds))
            lines += runtimeNotes.map { "onnxruntime:  " + $0 }
            return lines.joined(separator: "\n")
        }

        /// onnxruntime 1.23 fuses blocked 4-bit DequantizeLinear + MatMul into MatMulNBits, whose default accuracy
        /// level (4) quantizes activations to int8 per block.
        static let accuracyLevelNote =
            "set session option session.qdq_matmulnbits_accuracy_level=0 to keep activations in float in the fused "
            + "4-bit MatMulNBits (its default, 4, quantizes them to int8)"
        /// onnxruntime 1.23's QDQ fusion turns float8 QuantizeLinear/DequantizeLinear + MatMul into
        /// MatMulIntegerToFloat, which has no float8 kernel, and refuses the graph.
        static let float8ActivationNote =
            "set session option session.disable_quant_qdq=1 (or graph optimization level basic): its QDQ fusion has "
            + "no float8 kernel for the FP8 activation pairs"
    }
}
