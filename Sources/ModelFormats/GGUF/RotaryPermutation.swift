import TensorCore

/// llama.cpp's converter (`convert_hf_to_gguf.py`, `LlamaModel.permute`) reorders the rows of q_proj and k_proj inside
/// each head from Hugging Face's rotate-half layout to interleaved pairs: GGUF row `2b + a` of a head holds Hugging Face
/// row `a·(headDim/2) + b`. These functions convert between the two so both sources run the same RoPE.
public enum RotaryPermutation {
    /// Hugging Face row order from GGUF row order. `weight: [headCount·headDim, inFeatures]` (or a bias `[headCount·headDim]`).
    public static func ggufToHuggingFace(_ weight: Tensor, headCount: Int) -> Tensor {
        permute(weight, headCount: headCount, toHuggingFace: true)
    }

    /// GGUF row order from Hugging Face row order (the converter's permutation).
    public static func huggingFaceToGGUF(_ weight: Tensor, headCount: Int) -> Tensor {
        permute(weight, headCount: headCount, toHuggingFace: false)
    }

    /// For each GGUF row of a `[rowCount, …]` q or k weight, the Hugging Face row it holds (the converter's order):
    /// GGUF row `head·headDim + 2b + a` holds Hugging Face row `head·headDim + a·(headDim/2) + b`. Lets a writer move
    /// whole rows of already-encoded blocks.
    /// - Precondition: `rowCount` splits into `headCount` heads of even size.
    public static func huggingFaceRowsInGGUFOrder(rowCount: Int, headCount: Int) -> [Int] {
        precondition(headCount > 0 && rowCount % headCount == 0 && (rowCount / headCount) % 2 == 0)
        let headDim = rowCount / headCount
        let half = headDim / 2
        var order = [Int](repeating: 0, count: rowCount)
        for head in 0..<headCount {
            for a in 0..<2 {
                for b in 0..<half { order[head * headDim + 2 * b + a] = head * headDim + a * half + b }
            }
        }
        return order
    }

    static func permute(_ weight: Tensor, headCount: Int, toHuggingFace: Bool) -> Tensor {
        let rows = weight.shape[0]
        let width = weight.rank == 1 ? 1 : weight.elementCount / rows
        precondition(headCount > 0 && rows % headCount == 0 && (rows / headCount) % 2 == 0)
        let headDim = rows / headCount
        let half = headDim / 2
        var result = weight
        weight.scalars.withUnsafeBufferPointer { source in
            result.scalars.withUnsafeMutableBufferPointer { destination in
                for head in 0..<headCount {
                    for a in 0..<2 {
                        for b in 0..<half {
                            let ggufRow = head * headDim + 2 * b + a
                            let hfRow = head * headDim + a * half + b
                            let (from, to) = toHuggingFace ? (ggufRow, hfRow) : (hfRow, ggufRow)
                            for column in 0..<width {
                                destination[to * width + column] = source[from * width + column]
                            }
                        }
                    }
                }
            }
        }
        return result
    }
}
