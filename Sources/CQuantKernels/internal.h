// Declarations shared by the kernel files of one path and the dispatcher (not part of the public header).
#ifndef QK_INTERNAL_H
#define QK_INTERNAL_H

#include "quant_kernels.h"
#include <stddef.h>
#include <string.h>

#define QK_PANEL 16
/// QuantParameters.scaleEpsilon (Float.ulpOfOne): the smallest dynamic scale.
#define QK_SCALE_EPSILON 1.1920928955078125e-07f

/// Bytes of one panel's codes.
static inline size_t qk_panel_bytes(const qk_weight *w) {
    return w->format == QK_FORMAT_UINT4 ? (size_t)w->padded_in * 8 : (size_t)w->padded_in * 16;
}
static inline int qk_column_step(const qk_weight *w) { return w->format == QK_FORMAT_UINT4 ? 8 : 4; }
/// First and one-past-last real column of group g.
static inline int qk_group_end(const qk_weight *w, int g) {
    int end = (g + 1) * w->group_size;
    return end < w->in_features ? end : w->in_features;
}

/// The float value of IEEE half-precision bits (exact: every half is a float).
static inline float qk_half_value(uint16_t h) {
    union { uint32_t u; float f; } v;
    const uint32_t sign = (uint32_t)(h & 0x8000) << 16, exponent = (h >> 10) & 0x1F, mantissa = h & 0x3FF;
    if (exponent == 0x1F) {
        v.u = sign | 0x7F800000u | (mantissa << 13);
    } else if (exponent != 0) {
        v.u = sign | ((exponent + 112) << 23) | (mantissa << 13);
    } else {
        v.f = (float)mantissa * 0x1p-24f;  // zero or subnormal: mantissa · 2^-24, exact
        v.u |= sign;
    }
    return v.f;
}

/// Scale of parameter slot i ([panel][group][lane]) whichever way it is stored.
static inline float qk_scale_at(const qk_weight *w, size_t i) {
    return w->scales ? w->scales[i] : qk_half_value(w->scales_f16[i]);
}

/// Offset of parameter slot i of a uint4 weight: stored (float or half) or, when neither is, −8 · scale.
static inline float qk_offset_at(const qk_weight *w, size_t i) {
    if (w->offsets) return w->offsets[i];
    if (w->offsets_f16) return qk_half_value(w->offsets_f16[i]);
    return -8.0f * qk_scale_at(w, i);
}

/// The float value of an FP8 E4M3 code: (bits 6..0) << 20 as a float is 2^-120 times the magnitude (normal and
/// subnormal alike), so one multiply by 2^120 finishes the conversion exactly.
static inline float qk_fp8_value(uint8_t code) {
    union { uint32_t u; float f; } v;
    v.u = ((uint32_t)(code & 0x7F) << 20);
    float magnitude = v.f * 0x1p120f;
    return (code & 0x80) ? -magnitude : magnitude;
}

void qk_portable_quantize_rows(const float *x, int rows, int in_features, int padded_in, int group_size,
                               int group_count, int dynamic, float static_scale, int32_t zero_point, uint8_t *codes,
                               float *row_scales, int32_t *act_sums);
void qk_portable_matmul_a8(const qk_weight *w, const uint8_t *codes, const float *row_scales,
                           const int32_t *act_sums, int32_t zero_point, int rows, int panel_begin, int panel_end,
                           float *out, int ldo);
void qk_portable_matmul_f32(const qk_weight *w, const float *x, int rows, int panel_begin, int panel_end, float *out,
                            int ldo);
void qk_portable_dequantize_panels(const qk_weight *w, int panel_begin, int panel_end, float *tile, int ldt);

void qk_avx512_quantize_rows(const float *x, int rows, int in_features, int padded_in, int group_size,
                             int group_count, int dynamic, float static_scale, int32_t zero_point, uint8_t *codes,
                             float *row_scales, int32_t *act_sums);
void qk_avx512_matmul_a8(const qk_weight *w, const uint8_t *codes, const float *row_scales, const int32_t *act_sums,
                         int32_t zero_point, int rows, int panel_begin, int panel_end, float *out, int ldo);
void qk_avx512_matmul_f32(const qk_weight *w, const float *x, int rows, int panel_begin, int panel_end, float *out,
                          int ldo);
void qk_avx512_dequantize_panels(const qk_weight *w, int panel_begin, int panel_end, float *tile, int ldt);

void qk_avx2_matmul_a8(const qk_weight *w, const uint8_t *codes, const float *row_scales, const int32_t *act_sums,
                       int32_t zero_point, int rows, int panel_begin, int panel_end, float *out, int ldo);
void qk_avx2_matmul_f32(const qk_weight *w, const float *x, int rows, int panel_begin, int panel_end, float *out,
                        int ldo);

#endif
