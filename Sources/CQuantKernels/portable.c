// Portable C kernels: plain loops over the packed layout (no intrinsics), the fallback on any CPU.
#include "internal.h"
#include <math.h>

void qk_portable_quantize_rows(const float *x, int rows, int in_features, int padded_in, int group_size,
                               int group_count, int dynamic, float static_scale, int32_t zero_point, uint8_t *codes,
                               float *row_scales, int32_t *act_sums) {
    for (int r = 0; r < rows; r++) {
        const float *row = x + (size_t)r * in_features;
        uint8_t *u = codes + (size_t)r * padded_in;
        float scale = static_scale;
        int32_t z = zero_point;
        if (dynamic) {
            float amax = 0;
            for (int k = 0; k < in_features; k++) amax = fmaxf(amax, fabsf(row[k]));
            // QuantCore's symmetric full-range int8 grid: scale = amax / ((qmax − qmin) / 2) = amax / 127.5.
            scale = amax / 127.5f;
            if (!(scale >= QK_SCALE_EPSILON)) scale = QK_SCALE_EPSILON;
            z = 0;
        }
        row_scales[r] = scale;
        // PyTorch (and Quanta) multiply by the float32 reciprocal rather than divide: it decides some ties.
        const float inverse = 1.0f / scale;
        const float lower = (float)(-128 - z), upper = (float)(127 - z);
        for (int k = 0; k < in_features; k++) {
            float v = row[k] * inverse;
            v = v < lower ? lower : (v > upper ? upper : v);
            int32_t q = (int32_t)nearbyintf(v);  // default rounding mode: half to even
            u[k] = (uint8_t)(q + z + 128);
        }
        for (int k = in_features; k < padded_in; k++) u[k] = (uint8_t)(z + 128);
        if (act_sums) {
            for (int g = 0; g < group_count; g++) {
                int end = (g + 1) * group_size < in_features ? (g + 1) * group_size : in_features;
                int32_t sum = 0;
                for (int k = g * group_size; k < end; k++) sum += (int32_t)u[k] - (z + 128);
                act_sums[(size_t)r * group_count + g] = sum;
            }
        }
    }
}

/// Integer code of (panel-relative) lane `lane`, column k.
static inline int32_t qk_code(const qk_weight *w, const uint8_t *panel, int lane, int k) {
    if (w->format == QK_FORMAT_UINT4) {
        int j = k & 7;
        uint8_t byte = panel[(size_t)(k >> 3) * 64 + lane * 4 + (j & 3)];
        return j < 4 ? (byte & 0x0F) : (byte >> 4);
    }
    return (int8_t)panel[(size_t)(k >> 2) * 64 + lane * 4 + (k & 3)];
}

static inline float qk_code_value(const qk_weight *w, const uint8_t *panel, int lane, int k) {
    if (w->format == QK_FORMAT_FP8E4M3) return qk_fp8_value(panel[(size_t)(k >> 2) * 64 + lane * 4 + (k & 3)]);
    return (float)qk_code(w, panel, lane, k);
}

void qk_portable_matmul_a8(const qk_weight *w, const uint8_t *codes, const float *row_scales,
                           const int32_t *act_sums, int32_t zero_point, int rows, int panel_begin, int panel_end,
                           float *out, int ldo) {
    const int32_t za = zero_point + 128;
    const size_t panel_bytes = qk_panel_bytes(w);
    for (int p = panel_begin; p < panel_end; p++) {
        const uint8_t *panel = w->codes + (size_t)p * panel_bytes;
        int lanes = w->out_features - p * QK_PANEL;
        if (lanes > QK_PANEL) lanes = QK_PANEL;
        for (int r = 0; r < rows; r++) {
            const uint8_t *u = codes + (size_t)r * w->padded_in;
            for (int lane = 0; lane < lanes; lane++) {
                float total = 0;
                for (int g = 0; g < w->group_count; g++) {
                    size_t index = ((size_t)p * w->group_count + g) * QK_PANEL + lane;
                    int32_t acc = 0;
                    int end = qk_group_end(w, g);
                    for (int k = g * w->group_size; k < end; k++) acc += (int32_t)u[k] * qk_code(w, panel, lane, k);
                    total += qk_scale_at(w, index) * (float)(acc - za * w->code_sums[index]);
                    if (w->format == QK_FORMAT_UINT4)
                        total += qk_offset_at(w, index) * (float)act_sums[(size_t)r * w->group_count + g];
                }
                out[(size_t)r * ldo + p * QK_PANEL + lane] = total * row_scales[r];
            }
        }
    }
}

void qk_portable_matmul_f32(const qk_weight *w, const float *x, int rows, int panel_begin, int panel_end, float *out,
                            int ldo) {
    const size_t panel_bytes = qk_panel_bytes(w);
    for (int p = panel_begin; p < panel_end; p++) {
        const uint8_t *panel = w->codes + (size_t)p * panel_bytes;
        int lanes = w->out_features - p * QK_PANEL;
        if (lanes > QK_PANEL) lanes = QK_PANEL;
        for (int r = 0; r < rows; r++) {
            const float *row = x + (size_t)r * w->in_features;
            for (int lane = 0; lane < lanes; lane++) {
                float total = 0;
                for (int g = 0; g < w->group_count; g++) {
                    size_t index = ((size_t)p * w->group_count + g) * QK_PANEL + lane;
                    float dot = 0, sum = 0;
                    int end = qk_group_end(w, g);
                    for (int k = g * w->group_size; k < end; k++) {
                        dot += row[k] * qk_code_value(w, panel, lane, k);
                        sum += row[k];
                    }
                    total += qk_scale_at(w, index) * dot;
                    if (w->format == QK_FORMAT_UINT4) total += qk_offset_at(w, index) * sum;
                }
                out[(size_t)r * ldo + p * QK_PANEL + lane] = total;
            }
        }
    }
}

void qk_portable_dequantize_panels(const qk_weight *w, int panel_begin, int panel_end, float *tile, int ldt) {
    const size_t panel_bytes = qk_panel_bytes(w);
    for (int p = panel_begin; p < panel_end; p++) {
        const uint8_t *panel = w->codes + (size_t)p * panel_bytes;
        for (int g = 0; g < w->group_count; g++) {
            const size_t index = ((size_t)p * w->group_count + g) * QK_PANEL;
            const int end = qk_group_end(w, g);
            for (int k = g * w->group_size; k < end; k++) {
                float *target = tile + (size_t)k * ldt + (p - panel_begin) * QK_PANEL;
                for (int lane = 0; lane < QK_PANEL; lane++) {
                    float v = qk_code_value(w, panel, lane, k);
                    const float scale = qk_scale_at(w, index + lane);
                    target[lane] = w->format == QK_FORMAT_UINT4 ? scale * v + qk_offset_at(w, index + lane) : scale * v;
                }
            }
        }
    }
}

void qk_pack(int format, const uint8_t *codes, int out_features, int in_features, int group_size, int group_count,
             int padded_in, uint8_t *packed, int32_t *code_sums) {
    const size_t panel_bytes = format == QK_FORMAT_UINT4 ? (size_t)padded_in * 8 : (size_t)padded_in * 16;
    for (int row = 0; row < out_features; row++) {
        const int p = row / QK_PANEL, lane = row % QK_PANEL;
        const uint8_t *source = codes + (size_t)row * in_features;
        uint8_t *panel = packed + (size_t)p * panel_bytes + lane * 4;
        if (format == QK_FORMAT_UINT4) {
            for (int k = 0; k < in_features; k++) {
                const int j = k & 7;
                panel[(size_t)(k >> 3) * 64 + (j & 3)] |= (uint8_t)(source[k] << (j < 4 ? 0 : 4));
            }
        } else {
            for (int k = 0; k < in_features; k++) panel[(size_t)(k >> 2) * 64 + (k & 3)] = source[k];
        }
        if (code_sums) {
            for (int g = 0; g < group_count; g++) {
                const int end = (g + 1) * group_size < in_features ? (g + 1) * group_size : in_features;
                int32_t sum = 0;
                for (int k = g * group_size; k < end; k++)
                    sum += format == QK_FORMAT_INT8 ? (int32_t)(int8_t)source[k] : (int32_t)source[k];
                code_sums[((size_t)p * group_count + g) * QK_PANEL + lane] = sum;
            }
        }
    }
}

void qk_dequantize_row(const qk_weight *w, int row, float *target) {
    const int p = row / QK_PANEL, lane = row % QK_PANEL;
    const uint8_t *panel = w->codes + (size_t)p * qk_panel_bytes(w);
    for (int g = 0; g < w->group_count; g++) {
        const size_t index = ((size_t)p * w->group_count + g) * QK_PANEL + lane;
        const float scale = qk_scale_at(w, index);
        const int end = qk_group_end(w, g);
        if (w->format == QK_FORMAT_UINT4) {
            const float offset = qk_offset_at(w, index);
            for (int k = g * w->group_size; k < end; k++) {
                // Two statements: no fused multiply-add, so the values equal scale · q + offset rounded twice,
                // as Swift computes them (clang contracts only within one expression).
                const float product = scale * (float)qk_code(w, panel, lane, k);
                target[k] = product + offset;
            }
        } else if (w->format == QK_FORMAT_INT8) {
            for (int k = g * w->group_size; k < end; k++) target[k] = scale * (float)qk_code(w, panel, lane, k);
        } else {
            for (int k = g * w->group_size; k < end; k++)
                target[k] = scale * qk_fp8_value(panel[(size_t)(k >> 2) * 64 + lane * 4 + (k & 3)]);
        }
    }
}
