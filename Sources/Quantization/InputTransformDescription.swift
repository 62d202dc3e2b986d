import Inference
import TensorCore

/// A linear layer's online input rotation as `quantization.json` records it (`input_transforms`, keyed by layer):
/// everything needed to rebuild the exact `HadamardTransform`, signs included, so loading never depends on how a
/// seed turns into signs.
///
/// ```json
/// "model.layers.0.mlp.down_proj": {"kind": "randomized_hadamard", "dimension": 1536, "base_size": 12, "seed": 1,
///                                   "negative_signs": "9f04…"}
/// ```
/// `negative_signs` is a bit mask in hex, two digits per byte, byte i holding signs 8i…8i+7 (bit b set when sign
/// 8i+b is −1).
struct InputTransformDescription: Codable, Equatable {
    static let hadamardKind = "randomized_hadamard"

    var kind: String
    var dimension: Int
    var baseSize: Int
    var seed: UInt64?
    var negativeSigns: String

    enum CodingKeys: String, CodingKey {
        case kind, dimension, seed
        case baseSize = "base_size"
        case negativeSigns = "negative_signs"
    }

    init(_ transform: HadamardTransform) {
        kind = Self.hadamardKind
        dimension = transform.dimension
        baseSize = transform.baseSize
        seed = transform.seed
        var bytes = [UInt8](repeating: 0, count: (transform.dimension + 7) / 8)
        for (i, sign) in transform.signs.enumerated() where sign < 0 { bytes[i / 8] |= 1 << UInt8(i % 8) }
        negativeSigns = bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    /// The transform, or an error naming `layer` and what this build cannot rebuild.
    func transform(layer: String, path: String) throws -> HadamardTransform {
        func fail(_ reason: String) -> QuantizationError {
            .invalidFolder(path: path, reason: "input transform of \(layer): \(reason)")
        }
        guard kind == Self.hadamardKind else {
            throw fail("kind '\(kind)' is not one this build applies (\(Self.hadamardKind))")
        }
        guard dimension > 0, dimension <= 1 << 20 else { throw fail("dimension \(dimension)") }
        let hex = Array(negativeSigns.utf8)
        guard hex.count == 2 * ((dimension + 7) / 8) else {
            throw fail("negative_signs has \(hex.count) hex digits, expected \(2 * ((dimension + 7) / 8))")
        }
        var signs = [Float](repeating: 1, count: dimension)
        for byteIndex in 0..<(hex.count / 2) {
            guard
                let byte = UInt8(String(decoding: hex[(2 * byteIndex)..<(2 * byteIndex + 2)], as: UTF8.self), radix: 16)
            else {
                throw fail("negative_signs is not hexadecimal at digit \(2 * byteIndex)")
            }
            for bit in 0..<8 where byte & (1 << UInt8(bit)) != 0 {
                let index = byteIndex * 8 + bit
                guard index < dimension else {
                    throw fail("negative_signs sets bit \(index) past dimension \(dimension)")
                }
                signs[index] = -1
            }
        }
        do {
            return try HadamardTransform(dimension: dimension, baseSize: baseSize, signs: signs, seed: seed)
        } catch {
            throw fail("\(error)")
        }
    }

    /// Sets each described transform on its layer of `model`.
    /// - Throws: `QuantizationError.invalidFolder` for an unknown layer, a width that does not match, or a transform
    ///   this build cannot rebuild.
    static func install(_ descriptions: [String: InputTransformDescription], into model: inout LlamaModel, path: String)
        throws
    {
        for layer in descriptions.keys.sorted() {
            let transform = try descriptions[layer]!.transform(layer: layer, path: path)
            var width: Int? = nil
            model.updateLinear(layer) { linear in
                width = linear.inFeatures
                if linear.inFeatures == transform.dimension { linear.inputTransform = transform }
            }
            guard let width else {
                throw QuantizationError.invalidFolder(
                    path: path, reason: "input transform for unknown layer '\(layer)'")
            }
            guard width == transform.dimension else {
                throw QuantizationError.invalidFolder(
                    path: path,
                    reason: "input transform of \(layer) has dimension \(transform.dimension), the layer reads \(width)"
                )
            }
        }
    }
}
