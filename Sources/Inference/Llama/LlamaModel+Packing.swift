import QuantCore
import TensorCore

extension LlamaModel {
    /// Packs every linear layer whose stored codes have a packed form (`Linear.pack()`): those layers then compute
    /// from their codes and drop their float weights. Float layers (rolled back, excluded, formats without a packed
    /// form) stay as they are. A runner calls it; algorithms and the debugger keep float weights.
    /// - Returns: the names of the layers packed now or before, in model order.
    /// - Throws: `QuantError.shapeMismatch` for stored codes that do not fit their layer.
    @discardableResult
    public mutating func packLinears() throws(QuantError) -> [String] {
        var packed: [String] = []
        for index in blocks.indices {
            for path in Block.linearPaths where try blocks[index][keyPath: path].pack() {
                packed.append(blocks[index][keyPath: path].name)
            }
        }
        if try lmHead.pack() { packed.append(lmHead.name) }
        return packed
    }

    /// Makes every packed layer (and a packed embedding table) float again, with the dequantized codes as weights.
    public mutating func unpackLinears() {
        for index in blocks.indices {
            for path in Block.linearPaths { blocks[index][keyPath: path].unpack() }
        }
        if let packedEmbedding {
            let table = Tensor(shape: [packedEmbedding.outFeatures, packedEmbedding.inFeatures], scalars: packedEmbedding.dequantized())
            embedding = table
            if configuration.tieWordEmbeddings && lmHead.isPacked && lmHead.quantizedWeight == nil {
                lmHead = Linear(weight: table, name: lmHead.name)
                return
            }
        }
        lmHead.unpack()
    }

    /// Bytes the weights hold in memory: embedding, norms, every linear (packed codes or floats, a tied head once).
    public var weightByteCount: Int {
        let floatBytes = MemoryLayout<Float>.size
        var total = (packedEmbedding?.byteCount ?? floatEmbedding.elementCount * floatBytes) + finalNorm.elementCount * floatBytes
        for block in blocks {
            total += (block.inputNorm.elementCount + block.postAttentionNorm.elementCount) * floatBytes
            for path in Block.linearPaths {
                let layer = block[keyPath: path]
                total += layer.weightByteCount + (layer.bias?.elementCount ?? 0) * floatBytes
            }
        }
        if !configuration.tieWordEmbeddings || (lmHead.isPacked && packedEmbedding == nil) { total += lmHead.weightByteCount }
        return total
    }
}
