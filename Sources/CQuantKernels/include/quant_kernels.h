// Packed linear kernels for Quanta (int8 / uint4 / fp8 weights, float or int8 activations), with runtime dispatch
// between an AVX-512 VNNI path, an AVX2 path and portable C. The weight layout is described in
// Sources/Inference/Packed/PackedWeight.swift: panels of 16 output rows, columns in steps of 4 (one-byte codes) or
// 8 (uint4), 64 bytes per step; per-group parameters as [panel][group][16].
#ifndef QUANT_KERNELS_H
#define QUANT_KERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Kernel paths, best first.
enum { QK_PATH_VNNI = 0, QK_PATH_AVX2 = 1, QK_PATH_PORTABLE = 2 };
/// Weight formats (PackedWeight.Format).
enum { QK_FORMAT_INT8 = 0, QK_FORMAT_UINT4 = 1, QK_FORMAT_FP8E4M3 = 2 };

/// A packed weight as the kernels read it (pointers borrowed from PackedWeight's arrays).
typedef struct {
    int32_t format;
    int32_t out_features, in_features;
    /// Columns per group; every group boundary but the last is a multiple of the column step (4, or 8 for uint4).
    int32_t group_size, group_count;
    /// in_features rounded up to the column step.
    int32_t padded_in;
    int32_t panel_count;
    const uint8_t *codes;
    /// [panel_count][group_count][16] float32 scales, or NULL when they are stored as `scales_f16`.
    const float *scales;
    /// The same scales as IEEE half-precision bits when every one is exactly a half (GGUF blocks, `scale_type:
    /// float16` schemes): half the bytes to stream, the same values. NULL when `scales` holds them.
    const uint16_t *scales_f16;
    /// [panel_count][group_count][16], uint4 only: float32 offsets, or half bits in `offsets_f16` (when the scales
    /// are halves too). Both NULL for a uint4 weight means offset = −8 · scale (symmetric int4, GGUF Q4_0): nothing
    /// stored, the value computed exactly from the scale.
    const float *offsets;
    const uint16_t *offsets_f16;
    /// [panel_count][group_count][16] sums of integer codes (int8, uint4; NULL for fp8).
    const int32_t *code_sums;
} qk_weight;

/// Packs row-major codes (one per byte: int8 bit patterns, uint4 0...15, fp8 bytes) of a weight
/// [out_features][in_features] into the panel layout `packed` (zero-filled by the caller, panel_count panels) and,
/// when code_sums is not NULL (zero-filled, [panel_count][group_count][16]), the per-group sums of integer codes.
void qk_pack(int format, const uint8_t *codes, int out_features, int in_features, int group_size, int group_count,
             int padded_in, uint8_t *packed, int32_t *code_sums);

/// Writes row `row`'s in_features dequantized values (scale · code (+ offset)) to `target` (embedding lookups).
void qk_dequantize_row(const qk_weight *w, int row, float *target);

/// Whether this CPU can run `path`.
int qk_cpu_supports(int path);

/// Quantizes float rows x[rows][in_features] to activation codes u = q + 128 (u8), q the int8 code of Quanta's fake
/// quantization: q = round_half_even(clamp(x · (1/s), -128 − z, 127 − z)) + z. Dynamic (`dynamic` != 0): per row
/// s = max(amax / 127.5, eps), z = 0; else s = static_scale, z = zero_point. Writes codes[rows][padded_in] (columns
/// past in_features get the zero point's code), row_scales[rows], and when act_sums is not NULL the per-group sums
/// of (q − z) into act_sums[rows][group_count].
void qk_quantize_rows(const float *x, int rows, int in_features, int padded_in, int group_size, int group_count,
                      int dynamic, float static_scale, int32_t zero_point, uint8_t *codes, float *row_scales,
                      int32_t *act_sums, int path);

/// out[r][o] = row_scales[r] · Σ_g scale[o][g] · (Σ_k (u − za)·w (+ offset-term for uint4)) for panels
/// [panel_begin, panel_end) and rows [0, rows); za = zero_point + 128. Int8 or uint4 weights. `ldo` is the output
/// row stride. Lanes past out_features are not written.
void qk_matmul_a8(const qk_weight *w, const uint8_t *codes, const float *row_scales, const int32_t *act_sums,
                  int32_t zero_point, int rows, int panel_begin, int panel_end, float *out, int ldo, int path);

/// out[r][o] = Σ_g scale[o][g] · Σ_k x[r][k]·code[o][k] (+ offset[o][g] · Σ_k x[r][k] for uint4) for float rows
/// x[rows][in_features] (row stride in_features), panels [panel_begin, panel_end). Any format.
void qk_matmul_f32(const qk_weight *w, const float *x, int rows, int panel_begin, int panel_end, float *out, int ldo,
                   int path);

/// Dequantizes panels [panel_begin, panel_end) into tile[k][(panel − panel_begin)·16 + lane] for k < in_features
/// (row stride ldt ≥ 16·(panel_end − panel_begin)): the weight block transposed, [inFeatures, columns], which is the
/// layout's natural order (a step's column c of 16 lanes is one contiguous store). Padded lanes hold 0 (or the offset).
void qk_dequantize_panels(const qk_weight *w, int panel_begin, int panel_end, float *tile, int ldt, int path);

#ifdef __cplusplus
}
#endif
#endif
