import CQuantKernels
import QuantCore
import TensorCore

/// Products of float (or int8-quantized) input rows with a packed weight: output = act(input) · Wᵀ, no bias.
///
/// Integer activations (W8A8, W4A8): each row is quantized once to int8 codes, the products accumulate in int32 per
/// group (VNNI `vpdpbusd` on the vnni path) and the scales apply in the epilogue. Float activations (W8A16, W4A16,
/// FP8): few rows convert the codes in registers (decode GEMV); many rows dequantize blocks of weight rows to a float
/// tile and multiply it with BLAS sgemm. Output panels of 16 features are split across `Parallel` workers.
public enum PackedMatmul {
    /// Rows from which float activations take the dequantized-tile + sgemm route (below it, converting codes in
    /// registers once per 4 rows is cheaper than writing the tile: measured crossover 32-64 rows on SmolLM2 shapes).
    static let tileRowThreshold = 48
    /// Largest panel count (of 16 output features) per dequantized tile: large, because each sgemm call packs its
    /// input rows again, yet a 576-wide tile (1.2 MB) stays in L2.
    static let tilePanels = 32

    /// output[rows, outFeatures] = act(input[rows, inFeatures]) · Wᵀ on `KernelPath.current` (no bias: the caller
    /// adds it). Equals `reference` up to float summation order.
    /// - Parameters: `input`: `[rows, inFeatures]` row-major; `output`: `[rows, outFeatures]`, overwritten. Inputs
    ///   must be finite (the caller checks, as the fake-quant path does).
    public static func run(
        _ weight: PackedWeight, activation: PackedActivation, input: UnsafePointer<Float>, rows: Int,
        output: UnsafeMutablePointer<Float>
    ) {
        run(weight, activation: activation, input: input, rows: rows, output: output, path: .current)
    }

    /// `run` on an explicit kernel path (tests run every path the machine has).
    public static func run(
        _ weight: PackedWeight, activation: PackedActivation, input: UnsafePointer<Float>, rows: Int,
        output: UnsafeMutablePointer<Float>, path: KernelPath
    ) {
        precondition(path.isSupported, "kernel path \(path.rawValue) is not supported by this CPU")
        guard rows > 0 else { return }
        guard weight.hasAlignedGroups else {
            reference(weight, activation: activation, input: input, rows: rows, output: output)
            return
        }
        weight.withKernelWeight { kernelWeight in
            var w = kernelWeight
            switch activation {
            case .float:
                floatProduct(&w, input: input, rows: rows, output: output, path: path)
            case .int8PerToken, .int8Static:
                integerProduct(&w, activation: activation, input: input, rows: rows, output: output, path: path)
            }
        }
    }

    /// Float activations: register conversion for few rows, dequantized tiles and sgemm for many.
    static func floatProduct(
        _ w: inout qk_weight, input: UnsafePointer<Float>, rows: Int, output: UnsafeMutablePointer<Float>,
        path: KernelPath
    ) {
        let panels = Int(w.panel_count), outFeatures = Int(w.out_features), inFeatures = Int(w.in_features)
        nonisolated(unsafe) let (x, y) = (input, output)
        let kernel = w
        if rows < tileRowThreshold {
            Parallel.forEachChunk(count: panels, minimumPerChunk: 2) { range in
                var w = kernel
                qk_matmul_f32(
                    &w, x, Int32(rows), Int32(range.lowerBound), Int32(range.upperBound), y,
                    Int32(outFeatures), path.code)
            }
            return
        }
        // Every sgemm call covers one fixed (256-row block, tile) pair whatever the worker count, so results do not
        // depend on QUANTA_THREADS (OpenBLAS picks kernels by shape). Workers take whole tiles when there are enough
        // (each tile is dequantized once and serves every row block), else whole row blocks (each worker
        // dequantizing every tile for its rows).
        let rowBlock = BLAS.rowBlock
        let rowBlocks = (rows + rowBlock - 1) / rowBlock
        // An even number of tiles (from the shape alone) keeps two workers balanced.
        var columnBlocks = max(2, (panels + tilePanels - 1) / tilePanels)
        columnBlocks = min(panels, (columnBlocks + 1) / 2 * 2)
        let tilePanels = (panels + columnBlocks - 1) / columnBlocks
        columnBlocks = (panels + tilePanels - 1) / tilePanels
        let tileRows = tilePanels * PackedWeight.panelWidth
        if columnBlocks < Parallel.threadCount && rowBlocks > 1 {
            Parallel.forEachChunk(count: rowBlocks) { range in
                var w = kernel
                let tile = UnsafeMutablePointer<Float>.allocate(capacity: tileRows * inFeatures)
                defer { tile.deallocate() }
                for columnBlock in 0..<columnBlocks {
                    let first = columnBlock * tilePanels, last = min(panels, first + tilePanels)
                    qk_dequantize_panels(
                        &w, Int32(first), Int32(last), tile, Int32((last - first) * PackedWeight.panelWidth), path.code)
                    for rowIndex in range {
                        let start = rowIndex * rowBlock, count = min(rows, start + rowBlock) - start
                        tileProduct(
                            tile, first: first, last: last, x: x + start * inFeatures, rows: count,
                            y: y + start * outFeatures, inFeatures: inFeatures, outFeatures: outFeatures)
                    }
                }
            }
            return
        }
        Parallel.forEachChunk(count: columnBlocks) { range in
            var w = kernel
            let tile = UnsafeMutablePointer<Float>.allocate(capacity: tileRows * inFeatures)
            defer { tile.deallocate() }
            for columnBlock in range {
                let first = columnBlock * tilePanels, last = min(panels, first + tilePanels)
                qk_dequantize_panels(
                    &w, Int32(first), Int32(last), tile, Int32((last - first) * PackedWeight.panelWidth), path.code)
                for start in stride(from: 0, to: rows, by: rowBlock) {
                    tileProduct(
                        tile, first: first, last: last, x: x + start * inFeatures,
                        rows: min(rows, start + rowBlock) - start, y: y + start * outFeatures,
                        inFeatures: inFeatures, outFeatures: outFeatures)
                }
            }
        }
    }

    /// y[:, first·16 ..< last·16] = x · tile for one block of dequantized panels (`tile: [inFeatures, 16·(last − first)]`).
    @inline(__always)
    static func tileProduct(
        _ tile: UnsafePointer<Float>, first: Int, last: Int, x: UnsafePointer<Float>, rows: Int,
        y: UnsafeMutablePointer<Float>, inFeatures: Int, outFeatures: Int
    ) {
        let start = first * PackedWeight.panelWidth
        let columns = min(outFeatures, last * PackedWeight.panelWidth) - start
        BLAS.sgemm(
            transposeA: false, transposeB: false, m: rows, n: columns, k: inFeatures,
            a: x, lda: inFeatures, b: tile, ldb: (last - first) * PackedWeight.panelWidth, c: y + start,
            ldc: outFeatures)
    }

    /// Int8 activations: quantize every row once, then integer products per panel (fp8 weights: dequantize the
    /// codes back to the fake-quantized floats and take the float route).
    static func integerProduct(
        _ w: inout qk_weight, activation: PackedActivation, input: UnsafePointer<Float>, rows: Int,
        output: UnsafeMutablePointer<Float>, path: KernelPath
    ) {
        let (dynamic, staticScale, zeroPoint) = codeMode(activation)
        let padded = Int(w.padded_in), inFeatures = Int(w.in_features)
        let needsSums = w.format == Int32(QK_FORMAT_UINT4)
        let buffers = ActivationCodes(rows: rows, weight: w)
        defer { buffers.deallocate() }
        let (codes, scales, sums) = (buffers.codes, buffers.scales, buffers.sums)
        do {
            nonisolated(unsafe) let (x, c, s, a) = (input, codes, scales, sums)
            let (groupSize, groupCount) = (w.group_size, w.group_count)
            // Rows are independent: prefill quantizes them in parallel (32 rows of 576 take ~10 µs).
            Parallel.forEachChunk(count: rows, minimumPerChunk: 32) { range in
                let first = range.lowerBound
                qk_quantize_rows(
                    x + first * inFeatures, Int32(range.count), Int32(inFeatures), Int32(padded), groupSize,
                    groupCount, dynamic, staticScale, zeroPoint, c + first * padded, s + first,
                    needsSums ? a + first * Int(groupCount) : nil, path.code)
            }
        }
        if w.format == Int32(QK_FORMAT_FP8E4M3) {
            let values = UnsafeMutablePointer<Float>.allocate(capacity: rows * inFeatures)
            defer { values.deallocate() }
            let za = Int32(128) + zeroPoint
            for row in 0..<rows {
                for k in 0..<inFeatures {
                    values[row * inFeatures + k] = Float(Int32(codes[row * padded + k]) - za) * scales[row]
                }
            }
            floatProduct(&w, input: values, rows: rows, output: output, path: path)
            return
        }
        nonisolated(unsafe) let (c, s, a, y) = (codes, scales, sums, output)
        let kernel = w, outFeatures = Int(w.out_features)
        Parallel.forEachChunk(count: Int(w.panel_count), minimumPerChunk: 2) { range in
            var w = kernel
            qk_matmul_a8(
                &w, c, s, needsSums ? a : nil, zeroPoint, Int32(rows), Int32(range.lowerBound),
                Int32(range.upperBound), y, Int32(outFeatures), path.code)
        }
    }
}

extension PackedMatmul {
    /// The C kernels' activation mode: (dynamic, static scale, zero point), checked.
    static func codeMode(_ activation: PackedActivation) -> (Int32, Float, Int32) {
        let mode: (Int32, Float, Int32) =
            switch activation {
            case .float: preconditionFailure("float activations have no codes")
            case .int8PerToken: (1, 0, 0)
            case let .int8Static(scale, zeroPoint): (0, scale, zeroPoint)
            }
        precondition(mode.0 == 1 || (mode.1 > 0 && mode.1.isFinite), "static activation scale \(mode.1)")
        precondition((-128...127).contains(mode.2), "static activation zero point \(mode.2) outside int8")
        return mode
    }

    /// Buffers for `rows` quantized input rows of `weight`: codes [rows, padded_in], per-row scales, and per-group
    /// code sums (uint4 weights only; one unused slot otherwise).
    struct ActivationCodes {
        let codes: UnsafeMutablePointer<UInt8>
        let scales: UnsafeMutablePointer<Float>
        let sums: UnsafeMutablePointer<Int32>

        init(rows: Int, weight w: qk_weight) {
            let needsSums = w.format == Int32(QK_FORMAT_UINT4)
            codes = .allocate(capacity: rows * Int(w.padded_in))
            scales = .allocate(capacity: rows)
            sums = .allocate(capacity: needsSums ? rows * Int(w.group_count) : 1)
        }

        func deallocate() {
            codes.deallocate()
            scales.deallocate()
            sums.deallocate()
        }
    }
}

extension PackedWeight {
    /// Calls `body` with the C view of this weight (pointers valid only inside `body`).
    func withKernelWeight<R>(_ body: (qk_weight) -> R) -> R {
        func base<T>(_ buffer: UnsafeBufferPointer<T>) -> UnsafePointer<T>? { buffer.isEmpty ? nil : buffer.baseAddress }
        return codes.withUnsafeBufferPointer { codes in
            scales.withUnsafeBufferPointer { scales in
                halfScales.withUnsafeBufferPointer { halfScales in
                    offsets.withUnsafeBufferPointer { offsets in
                        halfOffsets.withUnsafeBufferPointer { halfOffsets in
                            codeSums.withUnsafeBufferPointer { sums in
                                body(
                                    qk_weight(
                                        format: format.kernelCode, out_features: Int32(outFeatures),
                                        in_features: Int32(inFeatures),
                                        group_size: Int32(groupSize), group_count: Int32(groupCount),
                                        padded_in: Int32(paddedInFeatures), panel_count: Int32(panelCount),
                                        codes: codes.baseAddress, scales: base(scales), scales_f16: base(halfScales),
                                        offsets: base(offsets), offsets_f16: base(halfOffsets),
                                        code_sums: base(sums)))
                            }
                        }
                    }
                }
            }
        }
    }
}
