import CQuantKernels
import TensorCore

extension PackedMatmul {
    /// Several weights applied to the same input rows (q/k/v, gate/up) in one parallel pass over all their output
    /// panels, the input quantized once: decoding a token then waits for the workers once per group instead of once
    /// per layer. Each panel is computed exactly as `run` computes it, so the outputs equal separate `run` calls bit
    /// for bit. Fused only for few rows (the register-conversion and integer kernels) and weights of one format,
    /// group size and input width; anything else runs each weight on its own.
    /// - Parameters: `input`: `[rows, inFeatures]`; `outputs[i]`: `[rows, weights[i].outFeatures]`, overwritten.
    public static func runMany(
        _ weights: [PackedWeight], activation: PackedActivation, input: UnsafePointer<Float>, rows: Int,
        outputs: [UnsafeMutablePointer<Float>], path: KernelPath = .current
    ) {
        precondition(weights.count == outputs.count, "\(weights.count) weights, \(outputs.count) outputs")
        precondition(path.isSupported, "kernel path \(path.rawValue) is not supported by this CPU")
        guard rows > 0, let first = weights.first else { return }
        let fusable =
            weights.count > 1 && rows < tileRowThreshold
            && !(activation.isInteger && first.format == .fp8e4m3)
            && weights.allSatisfy {
                $0.hasAlignedGroups && $0.format == first.format && $0.inFeatures == first.inFeatures
                    && $0.groupSize == first.groupSize
            }
        guard fusable else {
            for (weight, output) in zip(weights, outputs) {
                run(weight, activation: activation, input: input, rows: rows, output: output, path: path)
            }
            return
        }
        withKernelWeights(weights[...]) { kernels in
            if activation.isInteger {
                fusedInteger(kernels, activation: activation, input: input, rows: rows, outputs: outputs, path: path)
            } else {
                eachPanelRange(kernels) { index, begin, end in
                    var w = kernels[index]
                    qk_matmul_f32(&w, input, Int32(rows), Int32(begin), Int32(end), outputs[index], w.out_features, path.code)
                }
            }
        }
    }

    /// Int8 activations: the rows quantized once (as `integerProduct` does), then every weight's panels.
    private static func fusedInteger(
        _ kernels: [qk_weight], activation: PackedActivation, input: UnsafePointer<Float>, rows: Int,
        outputs: [UnsafeMutablePointer<Float>], path: KernelPath
    ) {
        let (dynamic, staticScale, zeroPoint) = codeMode(activation)
        let w = kernels[0]
        let needsSums = w.format == Int32(QK_FORMAT_UINT4)
        let buffers = ActivationCodes(rows: rows, weight: w)
        defer { buffers.deallocate() }
        let (codes, scales, sums) = (buffers.codes, buffers.scales, buffers.sums)
        qk_quantize_rows(
            input, Int32(rows), w.in_features, w.padded_in, w.group_size, w.group_count, dynamic, staticScale, zeroPoint,
            codes, scales, needsSums ? sums : nil, path.code)
        nonisolated(unsafe) let (c, s, a) = (codes, scales, sums)
        eachPanelRange(kernels) { index, begin, end in
            var w = kernels[index]
            qk_matmul_a8(
                &w, c, s, needsSums ? a : nil, zeroPoint, Int32(rows), Int32(begin), Int32(end), outputs[index],
                w.out_features, path.code)
        }
    }

    /// Splits the panels of all `kernels`, laid end to end, across the workers, and calls `body(weight, begin, end)`
    /// for each weight's share of a chunk (panel indices local to that weight).
    private static func eachPanelRange(_ kernels: [qk_weight], _ body: (Int, Int, Int) -> Void) {
        var starts = [0]
        for w in kernels { starts.append(starts.last! + Int(w.panel_count)) }
        let offsets = starts
        Parallel.forEachChunk(count: offsets.last!, minimumPerChunk: 2) { range in
            for index in kernels.indices {
                let begin = max(range.lowerBound, offsets[index]), end = min(range.upperBound, offsets[index + 1])
                if begin < end { body(index, begin - offsets[index], end - offsets[index]) }
            }
        }
    }

    /// Calls `body` with the C views of all `weights` (pointers valid only inside `body`).
    private static func withKernelWeights<R>(_ weights: ArraySlice<PackedWeight>, _ body: ([qk_weight]) -> R) -> R {
        guard let first = weights.first else { return body([]) }
        return first.withKernelWeight { kernel in
            withKernelWeights(weights.dropFirst()) { rest in body([kernel] + rest) }
        }
    }
}
