import QuantCore
import TensorCore

/// Packed storage: a quantized layer that keeps its weight as codes plus scales (`PackedWeight`) and computes from
/// them (`PackedMatmul`), with no float copy of the weight in memory.
///
/// The layer computes the same function as its float (fake-quant) form, up to float summation order:
/// - an input quantizer that the kernels implement (`packedInputActivation`: int8 per-token dynamic, int8 per-tensor
///   static) is applied by the kernel, which quantizes each row once and applies the scales in the epilogue;
/// - any other input quantizer (FP8, MX, per-group inputs), hooks, or an online rotation take the float route: the
///   layer fake-quantizes (or rotates) a private copy of the input as the float layer does, and the kernel reads that
///   copy as float activations;
/// - the output quantizer runs on the product as usual.
/// Packing happens only when a runner asks for it (`pack()`, `LlamaModel.packLinears()`, or a loader option):
/// algorithms and the debugger read `weight`, which a packed layer dequantizes on every read.
extension Linear {
    /// A layer that computes from packed codes; `bias: [outFeatures]`.
    public init(packed: PackedWeight, bias: Tensor? = nil, name: String = "") {
        precondition(bias == nil || bias!.shape == [packed.outFeatures])
        self.init(weight: Tensor(shape: [0, 0]), bias: bias, name: name)
        packedWeight = packed
    }

    /// Whether the layer's weight is packed codes.
    public var isPacked: Bool { packedWeight != nil }

    /// Bytes the layer's weight holds in memory: packed codes and parameters, or 4 per float.
    public var weightByteCount: Int { packedWeight?.byteCount ?? floatWeight.elementCount * MemoryLayout<Float>.size }

    /// Replaces the float weight by packed codes of `quantizedWeight` when its format has a packed form
    /// (`PackedWeight.packing(_:)`); `quantizedWeight` stays, so that savers and the debugger still see the codes.
    /// - Returns: whether the layer is now packed (false: no stored codes, or a format without a packed form).
    /// - Throws: `QuantError.shapeMismatch` for codes that do not fit the layer's shape.
    @discardableResult
    public mutating func pack() throws(QuantError) -> Bool {
        if packedWeight != nil { return true }
        guard let quantizedWeight, let packed = try PackedWeight.packing(quantizedWeight) else { return false }
        guard packed.outFeatures == outFeatures, packed.inFeatures == inFeatures else {
            throw .shapeMismatch("\(name): packed weight [\(packed.outFeatures), \(packed.inFeatures)], layer \(weightShape)")
        }
        let stored = quantizedWeight
        floatWeight = Tensor(shape: [0, 0])
        packedWeight = packed
        self.quantizedWeight = stored
        return true
    }

    /// Makes the layer float again: the dequantized codes become `weight` (the stored codes stay).
    public mutating func unpack() {
        guard let packedWeight else { return }
        let stored = quantizedWeight
        floatWeight = Tensor(shape: [packedWeight.outFeatures, packedWeight.inFeatures], scalars: packedWeight.dequantized())
        self.packedWeight = nil
        quantizedWeight = stored
    }

    /// How the kernel reads the input (`PackedActivation.init(_:)`): `.float` without an input quantizer, an int8
    /// mode when the kernel can apply the quantizer itself; nil for any other scheme (the layer then fake-quantizes a
    /// copy and the kernel reads floats).
    public var packedInputActivation: PackedActivation? { PackedActivation(inputQuantizer) }
}
