import Foundation
import Inference
import ONNXProto
import QuantCore
import TensorCore

/// The Llama decoder as an ONNX graph (opset 21, standard operators only) with the inputs and outputs Hugging Face
/// Optimum and onnxruntime-genai use for decoders with a KV cache:
///
/// - inputs `input_ids [batch_size, sequence_length]` int64, `attention_mask [batch_size, total_sequence_length]`
///   int64, `position_ids [batch_size, sequence_length]` int64, and per block `past_key_values.N.key|value
///   [batch_size, num_key_value_heads, past_sequence_length, head_dim]` float;
/// - outputs `logits [batch_size, sequence_length, vocab_size]` and `present.N.key|value` (past and new positions).
///
/// It computes what `LlamaModel.forward` computes, step for step: RMSNorm as x · (1 / √(mean(x²) + ε)) · w; RoPE in
/// the rotate-half layout with cos/sin tables built exactly as `ForwardScratch` builds them (angles in double from
/// float inverse frequencies) and gathered by `position_ids`; grouped-query attention with the query heads of one KV
/// head side by side (`[batch, kv_heads, group, sequence, head_dim]`), scores scaled by 1/√d, a causal mask over the
/// absolute position `past + i` combined with `attention_mask` (masked scores become the lowest float, so a fully
/// padded row stays finite), softmax and the value product; SwiGLU as gate · sigmoid(gate) · up. Linear layers are
/// `MatMul(x, W)` with `W: [in, out]` (float initializers, or DequantizeLinear of the saved codes), preceded by the
/// online rotation (a MatMul by its matrix) and the input quantizer, followed by the bias and output quantizer. A tied
/// LM head multiplies by the transposed embedding, which is stored once.
struct ONNXDecoderGraph {
    var builder = ONNXGraphBuilder()
    var inputs: [Onnx_ValueInfoProto] = []
    var outputs: [Onnx_ValueInfoProto] = []
    /// Weight kinds written, for the report (`uint4, groups of 32` → layers).
    var weightKinds: [String: Int] = [:]
    var layersFromCodes = 0
    var staticQuantizers = 0
    var dynamicQuantizers = 0
    var onlineRotations = 0
    /// onnxruntime session options this graph needs to compute Quanta's function (see `ONNXExport.Report`).
    var runtimeNotes: Set<String> = []
    var linearBytes = 0
    var linearElements = 0

    /// A dimension of a graph input or output.
    enum Dimension {
        case value(Int)
        case parameter(String)
    }

    static func valueInfo(_ name: String, _ type: ONNXTensorData.ElementType, _ dimensions: [Dimension])
        -> Onnx_ValueInfoProto
    {
        var info = Onnx_ValueInfoProto()
        info.name = name
        var tensor = Onnx_TypeProto.Tensor()
        tensor.elemType = type.rawValue
        var shape = Onnx_TensorShapeProto()
        shape.dim = dimensions.map { dimension in
            var d = Onnx_TensorShapeProto.Dimension()
            switch dimension {
            case let .value(v): d.dimValue = Int64(v)
            case let .parameter(p): d.dimParam = p
            }
            return d
        }
        tensor.shape = shape
        info.type.tensorType = tensor
        return info
    }

    /// cos and sin of every position's rotary angles, `[maxPositionEmbeddings, headDimension / 2]`, computed as
    /// `ForwardScratch.init` computes them so the two runtimes rotate by identical floats.
    static func rotaryTables(_ c: LlamaConfiguration) -> (cos: [Float], sin: [Float]) {
        let half = c.headDimension / 2
        var cosines = [Float](repeating: 0, count: c.maxPositionEmbeddings * half)
        var sines = cosines
        let inverseFrequencies = (0..<half).map {
            Double(Float(1.0 / pow(Double(c.ropeTheta), Double(2 * $0) / Double(c.headDimension))))
        }
        for position in 0..<c.maxPositionEmbeddings {
            for i in 0..<half {
                let angle = Double(position) * inverseFrequencies[i]
                cosines[position * half + i] = Float(cos(angle))
                sines[position * half + i] = Float(sin(angle))
            }
        }
        return (cosines, sines)
    }

    /// Builds the graph of `model`.
    /// - Throws: `ExportError.onnxInexpressible` naming the first weight or activation quantizer ONNX cannot express
    ///   (and how many more share the problem), before anything is built.
    init(_ model: LlamaModel) throws(ExportError) {
        try Self.checkExpressible(model)
        let c = model.configuration
        let tied = c.tieWordEmbeddings
        let kvHeads = c.keyValueHeadCount, d = c.headDimension, groupSize = c.groupSize
        inputs = [
            Self.valueInfo("input_ids", .int64, [.parameter("batch_size"), .parameter("sequence_length")]),
            Self.valueInfo("attention_mask", .int64, [.parameter("batch_size"), .parameter("total_sequence_length")]),
            Self.valueInfo("position_ids", .int64, [.parameter("batch_size"), .parameter("sequence_length")]),
        ]
        outputs = [
            Self.valueInfo(
                "logits", .float, [.parameter("batch_size"), .parameter("sequence_length"), .value(c.vocabularySize)])
        ]
        let cacheShape = { (length: String) -> [Dimension] in
            [.parameter("batch_size"), .value(kvHeads), .parameter(length), .value(d)]
        }
        for layer in 0..<c.layerCount {
            for kind in ["key", "value"] {
                inputs.append(
                    Self.valueInfo("past_key_values.\(layer).\(kind)", .float, cacheShape("past_sequence_length")))
                outputs.append(Self.valueInfo("present.\(layer).\(kind)", .float, cacheShape("total_sequence_length")))
            }
        }

        // Embedding, rotary tables, mask.
        let embedding = "model.embed_tokens.weight"
        builder.addInitializer(
            ONNXTensorData.float(name: embedding, shape: model.embedding.shape, values: model.embedding.scalars))
        var x = builder.op("Gather", [embedding, "input_ids"], scope: "/model/embed_tokens")
        let tables = Self.rotaryTables(c)
        let half = d / 2
        builder.addInitializer(
            ONNXTensorData.float(name: "rotary.cos", shape: [c.maxPositionEmbeddings, half], values: tables.cos))
        builder.addInitializer(
            ONNXTensorData.float(name: "rotary.sin", shape: [c.maxPositionEmbeddings, half], values: tables.sin))
        let axis2 = builder.int64s([2])
        let cosines = builder.op(
            "Unsqueeze", [builder.op("Gather", ["rotary.cos", "position_ids"], scope: "/rotary"), axis2],
            scope: "/rotary")
        let sines = builder.op(
            "Unsqueeze", [builder.op("Gather", ["rotary.sin", "position_ids"], scope: "/rotary"), axis2],
            scope: "/rotary")
        let allowed = maskGraph()

        for (index, block) in model.blocks.enumerated() {
            let scope = "/model/layers.\(index)"
            let p = "model.layers.\(index)"
            let h = rmsNorm(x, weight: block.inputNorm, name: "\(p).input_layernorm.weight", epsilon: c.rmsNormEpsilon)
            var q = try linear(block.queryProjection, h)
            var k = try linear(block.keyProjection, h)
            let v = try linear(block.valueProjection, h)
            q = builder.op("Reshape", [q, builder.int64s([0, 0, c.attentionHeadCount, d])], scope: scope + "/attn")
            k = builder.op("Reshape", [k, builder.int64s([0, 0, kvHeads, d])], scope: scope + "/attn")
            q = rotate(q, cos: cosines, sin: sines, scope: scope + "/attn/rotary_q")
            k = rotate(k, cos: cosines, sin: sines, scope: scope + "/attn/rotary_k")
            var newValues = v
            if let quantizer = block.keyQuantizer {
                let flat = builder.op("Reshape", [k, builder.int64s([0, 0, -1])], scope: scope + "/attn")
                let quantized = quantize(quantizer, flat, name: "\(p).self_attn.keys")
                k = builder.op("Reshape", [quantized, builder.int64s([0, 0, kvHeads, d])], scope: scope + "/attn")
            }
            if let quantizer = block.valueQuantizer {
                newValues = quantize(quantizer, newValues, name: "\(p).self_attn.values")
            }
            let vHeads = builder.op(
                "Reshape", [newValues, builder.int64s([0, 0, kvHeads, d])], scope: scope + "/attn")
            let perm0213: [ONNXGraphBuilder.Attribute] = [.ints("perm", [0, 2, 1, 3])]
            let presentKey = builder.op(
                "Concat",
                [
                    "past_key_values.\(index).key",
                    builder.op("Transpose", [k], scope: scope + "/attn", attributes: perm0213),
                ], scope: scope + "/attn", output: "present.\(index).key", attributes: [.int("axis", 2)])
            let presentValue = builder.op(
                "Concat",
                [
                    "past_key_values.\(index).value",
                    builder.op("Transpose", [vHeads], scope: scope + "/attn", attributes: perm0213),
                ], scope: scope + "/attn", output: "present.\(index).value", attributes: [.int("axis", 2)])
            // [b, s, heads, d] → [b, kv, group, s, d]: query head kv·group + j reads KV head kv.
            let q5 = builder.op(
                "Transpose",
                [builder.op("Reshape", [q, builder.int64s([0, 0, kvHeads, groupSize, d])], scope: scope)],
                scope: scope + "/attn", attributes: [.ints("perm", [0, 2, 3, 1, 4])])
            let keys5 = builder.op(
                "Transpose", [builder.op("Unsqueeze", [presentKey, axis2], scope: scope + "/attn")],
                scope: scope + "/attn", attributes: [.ints("perm", [0, 1, 2, 4, 3])])
            let values5 = builder.op("Unsqueeze", [presentValue, axis2], scope: scope + "/attn")
            let scores = builder.op(
                "Mul",
                [builder.op("MatMul", [q5, keys5], scope: scope + "/attn"), builder.float(1 / Float(d).squareRoot())],
                scope: scope + "/attn")
            let masked = builder.op(
                "Where", [allowed, scores, builder.float(-Float.greatestFiniteMagnitude)], scope: scope + "/attn")
            let probabilities = builder.op("Softmax", [masked], scope: scope + "/attn", attributes: [.int("axis", -1)])
            let context = builder.op("MatMul", [probabilities, values5], scope: scope + "/attn")
            let merged = builder.op(
                "Reshape",
                [
                    builder.op(
                        "Transpose", [context], scope: scope + "/attn", attributes: [.ints("perm", [0, 3, 1, 2, 4])]),
                    builder.int64s([0, 0, -1]),
                ], scope: scope + "/attn")
            let attentionOutput = try linear(block.outputProjection, merged)
            x = builder.op("Add", [x, attentionOutput], scope: scope)
            let h2 = rmsNorm(
                x, weight: block.postAttentionNorm, name: "\(p).post_attention_layernorm.weight",
                epsilon: c.rmsNormEpsilon)
            let gate = try linear(block.gateProjection, h2)
            let up = try linear(block.upProjection, h2)
            let activated = builder.op(
                "Mul",
                [
                    builder.op(
                        "Mul", [gate, builder.op("Sigmoid", [gate], scope: scope + "/mlp")], scope: scope + "/mlp"), up,
                ],
                scope: scope + "/mlp")
            let mlpOutput = try linear(block.downProjection, activated)
            x = builder.op("Add", [x, mlpOutput], scope: scope)
        }
        let normalized = rmsNorm(x, weight: model.finalNorm, name: "model.norm.weight", epsilon: c.rmsNormEpsilon)
        let head = model.lmHead
        if tied && head.quantizedWeight == nil {
            let transposed = builder.op(
                "Transpose", [embedding], scope: "/lm_head", output: "lm_head.weight",
                attributes: [.ints("perm", [1, 0])])
            _ = try linear(head, normalized, weight: transposed, output: "logits")
        } else {
            _ = try linear(head, normalized, output: "logits")
        }
    }

    /// Refuses what ONNX cannot express, naming the first point and counting the rest.
    static func checkExpressible(_ model: LlamaModel) throws(ExportError) {
        var problems: [(point: String, what: String, reason: String)] = []
        for linear in model.linearLayers {
            if let stored = linear.quantizedWeight, let reason = ONNXQuantizedWeight.refusal(stored.scheme) {
                problems.append((linear.name + ".weight", "weight scheme", reason))
            }
            for (suffix, quantizer) in [(".input", linear.inputQuantizer), (".output", linear.outputQuantizer)] {
                if let quantizer, let reason = ONNXActivationQuantization.refusal(quantizer) {
                    problems.append((linear.name + suffix, "activation quantizer", reason))
                }
            }
        }
        for (index, block) in model.blocks.enumerated() {
            for (kind, quantizer) in [("keys", block.keyQuantizer), ("values", block.valueQuantizer)] {
                if let quantizer, let reason = ONNXActivationQuantization.refusal(quantizer) {
                    problems.append(("model.layers.\(index).self_attn.\(kind)", "KV-cache quantizer", reason))
                }
            }
        }
        if let first = problems.first {
            throw .onnxInexpressible(
                point: first.point, morePoints: problems.count - 1, what: first.what, reason: first.reason)
        }
    }

    /// `allowed: [batch, 1, 1, sequence, total]` (bool): key j is visible from query i when j ≤ past + i and
    /// `attention_mask[b, j]` is nonzero.
    mutating func maskGraph() -> String {
        let scope = "/model/attn_mask"
        let past = builder.op(
            "Shape", ["past_key_values.0.key"], scope: scope, attributes: [.int("start", 2), .int("end", 3)])
        let length = builder.op("Shape", ["input_ids"], scope: scope, attributes: [.int("start", 1), .int("end", 2)])
        let total = builder.op("Add", [past, length], scope: scope)
        let scalar = builder.int64s([0])
        let pastScalar = builder.op("Squeeze", [past, scalar], scope: scope)
        let totalScalar = builder.op("Squeeze", [total, scalar], scope: scope)
        let zero = builder.int64s([0], shape: []), one = builder.int64s([1], shape: [])
        let keyPositions = builder.op("Range", [zero, totalScalar, one], scope: scope)
        let queryPositions = builder.op(
            "Unsqueeze", [builder.op("Range", [pastScalar, totalScalar, one], scope: scope), builder.int64s([1])],
            scope: scope)
        let causal = builder.op("LessOrEqual", [keyPositions, queryPositions], scope: scope)  // [s, total]
        let padding = builder.op(
            "Unsqueeze",
            [
                builder.op("Cast", ["attention_mask"], scope: scope, attributes: [.int("to", 9)]),
                builder.int64s([1, 2, 3]),
            ], scope: scope)  // [b, 1, 1, 1, total]
        return builder.op("And", [causal, padding], scope: scope)
    }

    /// RMSNorm of `x` (last axis) with the float weight `name`.
    mutating func rmsNorm(_ x: String, weight: Tensor, name: String, epsilon: Float) -> String {
        let scope = "/" + name.replacingOccurrences(of: ".weight", with: "")
        builder.addInitializer(ONNXTensorData.float(name: name, shape: weight.shape, values: weight.scalars))
        let meanSquare = builder.op(
            "ReduceMean", [builder.op("Mul", [x, x], scope: scope), builder.int64s([-1])], scope: scope,
            attributes: [.int("keepdims", 1)])
        let inverse = builder.op(
            "Reciprocal",
            [
                builder.op(
                    "Sqrt", [builder.op("Add", [meanSquare, builder.float(epsilon)], scope: scope)], scope: scope)
            ],
            scope: scope)
        return builder.op("Mul", [builder.op("Mul", [x, inverse], scope: scope), name], scope: scope)
    }

    /// Rotate-half RoPE of `t: [b, s, heads, d]` with `cos, sin: [b, s, 1, d/2]`.
    mutating func rotate(_ t: String, cos: String, sin: String, scope: String) -> String {
        let halves = builder.add(
            "Split", [t], scope: scope, outputCount: 2, attributes: [.int("axis", -1), .int("num_outputs", 2)])
        let (a, b) = (halves[0], halves[1])
        let first = builder.op(
            "Sub", [builder.op("Mul", [a, cos], scope: scope), builder.op("Mul", [b, sin], scope: scope)], scope: scope)
        let second = builder.op(
            "Add", [builder.op("Mul", [b, cos], scope: scope), builder.op("Mul", [a, sin], scope: scope)], scope: scope)
        return builder.op("Concat", [first, second], scope: scope, attributes: [.int("axis", -1)])
    }

    mutating func quantize(_ quantizer: ActivationQuantizer, _ input: String, name: String) -> String {
        if quantizer.parameters != nil && !quantizer.scheme.isDynamic {
            staticQuantizers += 1
            if !quantizer.scheme.dataType.isInteger { runtimeNotes.insert(ONNXExport.Report.float8ActivationNote) }
        } else {
            dynamicQuantizers += 1
        }
        return ONNXActivationQuantization.apply(quantizer, to: input, name: name, graph: &builder)
    }

    /// `linear` applied to `input: [b, s, in]`; `weight` overrides the layer's own `[in, out]` weight value.
    mutating func linear(_ linear: Linear, _ input: String, weight: String? = nil, output: String? = nil)
        throws(ExportError) -> String
    {
        let scope = "/" + linear.name
        var x = input
        if let transform = linear.inputTransform {
            let matrix = transform.matrix()
            builder.addInitializer(
                ONNXTensorData.float(name: linear.name + ".input_rotation", shape: matrix.shape, values: matrix.scalars)
            )
            x = builder.op("MatMul", [x, linear.name + ".input_rotation"], scope: scope + "/rotation")
            onlineRotations += 1
        }
        if let quantizer = linear.inputQuantizer { x = quantize(quantizer, x, name: linear.name + ".input") }
        let weightValue: String
        if let weight { weightValue = weight } else { weightValue = try addWeight(linear) }
        let hasTail = linear.bias != nil || linear.outputQuantizer != nil
        var y = builder.op("MatMul", [x, weightValue], scope: scope, output: hasTail ? nil : output)
        if let bias = linear.bias {
            builder.addInitializer(
                ONNXTensorData.float(name: linear.name + ".bias", shape: bias.shape, values: bias.scalars))
            y = builder.op(
                "Add", [y, linear.name + ".bias"], scope: scope, output: linear.outputQuantizer == nil ? output : nil)
        }
        if let quantizer = linear.outputQuantizer {
            let quantized = quantize(quantizer, y, name: linear.name + ".output")
            if let output {
                y = builder.op("Identity", [quantized], scope: scope, output: output)
            } else {
                y = quantized
            }
        }
        return y
    }

    /// The layer's weight value `<name>.weight: [in, out]`: DequantizeLinear of its codes, or a float initializer.
    /// - Throws: `ExportError.onnxInexpressible` when the stored codes disagree with their scheme (a damaged folder).
    mutating func addWeight(_ linear: Linear) throws(ExportError) -> String {
        let name = linear.name + ".weight"
        linearElements += linear.weight.elementCount
        if let stored = linear.quantizedWeight {
            let encoded = try ONNXQuantizedWeight(stored, name: name)
            builder.addInitializer(encoded.codes)
            builder.addInitializer(encoded.scale)
            var inputs = [encoded.codes.name, encoded.scale.name]
            if let zeroPoint = encoded.zeroPoint {
                builder.addInitializer(zeroPoint)
                inputs.append(zeroPoint.name)
            }
            _ = builder.op(
                "DequantizeLinear", inputs, scope: "/" + linear.name, output: name, attributes: encoded.attributes)
            weightKinds[encoded.kind, default: 0] += 1
            if encoded.blockSize != nil && stored.scheme.dataType.bitWidth <= 4 {
                runtimeNotes.insert(ONNXExport.Report.accuracyLevelNote)
            }
            layersFromCodes += 1
            linearBytes += encoded.byteCount
        } else {
            let w = linear.weight
            let (rows, columns) = (w.shape[0], w.shape[1])
            var transposed = [Float](repeating: 0, count: w.elementCount)
            w.scalars.withUnsafeBufferPointer { s in
                for o in 0..<rows {
                    for i in 0..<columns { transposed[i * rows + o] = s[o * columns + i] }
                }
            }
            builder.addInitializer(ONNXTensorData.float(name: name, shape: [columns, rows], values: transposed))
            weightKinds["float32", default: 0] += 1
            linearBytes += w.elementCount * 4
        }
        return name
    }
}
