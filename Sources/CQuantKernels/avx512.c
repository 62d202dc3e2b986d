// AVX-512 kernels (the "vnni" path): VNNI vpdpbusd for int8 activations, register conversion for float activations.
// Compiled for baseline x86-64 with per-function target attributes; only called after qk_cpu_supports(QK_PATH_VNNI).
#include "internal.h"
#include <stdlib.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define QK_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,fma")))
#define QK_INLINE static inline __attribute__((always_inline)) QK_AVX512

static inline int32_t qk_load_i32(const uint8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

QK_INLINE __mmask16 qk_lane_mask(const qk_weight *w, int p) {
    int lanes = w->out_features - p * QK_PANEL;
    return lanes >= QK_PANEL ? (__mmask16)0xFFFF : (__mmask16)((1u << lanes) - 1);
}

/// The 16 scales of parameter slots [index, index + 16) (float32 or half storage).
QK_INLINE __m512 qk_scales16(const qk_weight *w, size_t index) {
    if (w->scales) return _mm512_loadu_ps(w->scales + index);
    return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w->scales_f16 + index)));
}

/// The 16 offsets of a uint4 weight's slots [index, index + 16): stored, or −8 · scale (exact).
QK_INLINE __m512 qk_offsets16(const qk_weight *w, size_t index, __m512 scale) {
    if (w->offsets) return _mm512_loadu_ps(w->offsets + index);
    if (w->offsets_f16) return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w->offsets_f16 + index)));
    return _mm512_mul_ps(scale, _mm512_set1_ps(-8.0f));
}

QK_AVX512 void qk_avx512_quantize_rows(const float *x, int rows, int in_features, int padded_in, int group_size,
                                       int group_count, int dynamic, float static_scale, int32_t zero_point,
                                       uint8_t *codes, float *row_scales, int32_t *act_sums) {
    for (int r = 0; r < rows; r++) {
        const float *row = x + (size_t)r * in_features;
        uint8_t *u = codes + (size_t)r * padded_in;
        float scale = static_scale;
        int32_t z = zero_point;
        if (dynamic) {
            __m512 m = _mm512_setzero_ps();
            int k = 0;
            for (; k + 16 <= in_features; k += 16) m = _mm512_max_ps(m, _mm512_abs_ps(_mm512_loadu_ps(row + k)));
            if (k < in_features) {
                __mmask16 tail = (__mmask16)((1u << (in_features - k)) - 1);
                m = _mm512_max_ps(m, _mm512_abs_ps(_mm512_maskz_loadu_ps(tail, row + k)));
            }
            scale = _mm512_reduce_max_ps(m) / 127.5f;
            if (!(scale >= QK_SCALE_EPSILON)) scale = QK_SCALE_EPSILON;
            z = 0;
        }
        row_scales[r] = scale;
        const __m512 inverse = _mm512_set1_ps(1.0f / scale);
        const __m512 lower = _mm512_set1_ps((float)(-128 - z)), upper = _mm512_set1_ps((float)(127 - z));
        const __m512i shift = _mm512_set1_epi32(z + 128);
        for (int k = 0; k < in_features; k += 16) {
            int left = in_features - k;
            __mmask16 mask = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
            __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(mask, row + k), inverse);
            v = _mm512_min_ps(_mm512_max_ps(v, lower), upper);
            // cvtps rounds with MXCSR's default mode, half to even, as torch.round / the fake-quant kernels.
            __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(v), shift);
            _mm_mask_storeu_epi8(u + k, mask, _mm512_cvtepi32_epi8(q));
        }
        for (int k = in_features; k < padded_in; k++) u[k] = (uint8_t)(z + 128);
        if (act_sums) {
            for (int g = 0; g < group_count; g++) {
                int end = (g + 1) * group_size < in_features ? (g + 1) * group_size : in_features;
                int32_t sum = 0;
                for (int k = g * group_size; k < end; k++) sum += (int32_t)u[k];
                act_sums[(size_t)r * group_count + g] = sum - (end - g * group_size) * (z + 128);
            }
        }
    }
}

// ---- int8 activations × int8 / uint4 weights ----

/// NR rows × NP panels of outputs; IS4: uint4 weights. NR, NP, IS4 are constants at every call site.
QK_INLINE void qk_a8_block(const qk_weight *w, const uint8_t *codes, const float *row_scales, const int32_t *act_sums,
                           int32_t za, int r0, const int NR, int p, const int NP, const int IS4, float *out, int ldo) {
    const size_t panel_bytes = qk_panel_bytes(w);
    const int step = IS4 ? 8 : 4;
    const int G = w->group_count;
    const uint8_t *panel[2];
    const uint8_t *a[4];
    for (int j = 0; j < NP; j++) panel[j] = w->codes + (size_t)(p + j) * panel_bytes;
    for (int i = 0; i < NR; i++) a[i] = codes + (size_t)(r0 + i) * w->padded_in;
    __m512 total[4][2];
    for (int i = 0; i < NR; i++)
        for (int j = 0; j < NP; j++) total[i][j] = _mm512_setzero_ps();
    const __m512i low_nibbles = _mm512_set1_epi8(0x0F);
    // uint4: the nibbles are vpdpbusd's unsigned operand and the activations its signed one (u − 128 = q, the int8
    // code with its zero point z = za − 128): Σ (q − z)·w = Σ q·w − z·Σ w, so the codes' group sums are read only
    // for an asymmetric input (z ≠ 0). int8 weights are signed: the activations stay unsigned (u = q + 128) and
    // Σ (u − za)·w = Σ u·w − za·Σ w.
    const int32_t correction_zero = IS4 ? za - 128 : za;
    const __m512i zero_code = _mm512_set1_epi32(correction_zero);
    const __m512i sign_flip = _mm512_set1_epi8((char)0x80);
    for (int g = 0; g < G; g++) {
        const int s0 = g * w->group_size / step;
        const int s1 = (qk_group_end(w, g) + step - 1) / step;
        __m512i acc[4][2];
        for (int i = 0; i < NR; i++)
            for (int j = 0; j < NP; j++) acc[i][j] = _mm512_setzero_si512();
        for (int s = s0; s < s1; s++) {
            if (IS4) {
                __m512i lo[2], hi[2];
                for (int j = 0; j < NP; j++) {
                    __m512i v = _mm512_loadu_si512(panel[j] + (size_t)s * 64);
                    lo[j] = _mm512_and_si512(v, low_nibbles);
                    hi[j] = _mm512_and_si512(_mm512_srli_epi16(v, 4), low_nibbles);
                }
                for (int i = 0; i < NR; i++) {
                    __m512i alo = _mm512_xor_si512(_mm512_set1_epi32(qk_load_i32(a[i] + (size_t)s * 8)), sign_flip);
                    __m512i ahi =
                        _mm512_xor_si512(_mm512_set1_epi32(qk_load_i32(a[i] + (size_t)s * 8 + 4)), sign_flip);
                    for (int j = 0; j < NP; j++) {
                        acc[i][j] = _mm512_dpbusd_epi32(acc[i][j], lo[j], alo);
                        acc[i][j] = _mm512_dpbusd_epi32(acc[i][j], hi[j], ahi);
                    }
                }
            } else {
                __m512i v[2];
                for (int j = 0; j < NP; j++) v[j] = _mm512_loadu_si512(panel[j] + (size_t)s * 64);
                for (int i = 0; i < NR; i++) {
                    __m512i av = _mm512_set1_epi32(qk_load_i32(a[i] + (size_t)s * 4));
                    for (int j = 0; j < NP; j++) acc[i][j] = _mm512_dpbusd_epi32(acc[i][j], av, v[j]);
                }
            }
        }
        for (int j = 0; j < NP; j++) {
            const size_t index = ((size_t)(p + j) * G + g) * QK_PANEL;
            const __m512 scale = qk_scales16(w, index);
            const __m512i correction = correction_zero == 0 ? _mm512_setzero_si512()
                : _mm512_mullo_epi32(zero_code, _mm512_loadu_si512(w->code_sums + index));
            __m512 offset = _mm512_setzero_ps();
            if (IS4) offset = qk_offsets16(w, index, scale);
            for (int i = 0; i < NR; i++) {
                __m512 dot = _mm512_cvtepi32_ps(_mm512_sub_epi32(acc[i][j], correction));
                total[i][j] = _mm512_fmadd_ps(scale, dot, total[i][j]);
                if (IS4) {
                    __m512 sum = _mm512_set1_ps((float)act_sums[(size_t)(r0 + i) * G + g]);
                    total[i][j] = _mm512_fmadd_ps(offset, sum, total[i][j]);
                }
            }
        }
    }
    for (int i = 0; i < NR; i++) {
        const __m512 row_scale = _mm512_set1_ps(row_scales[r0 + i]);
        for (int j = 0; j < NP; j++)
            _mm512_mask_storeu_ps(out + (size_t)(r0 + i) * ldo + (p + j) * QK_PANEL, qk_lane_mask(w, p + j),
                                  _mm512_mul_ps(total[i][j], row_scale));
    }
}

#define QK_A8_ROWS(NP, IS4)                                                                                       \
    do {                                                                                                          \
        int r = 0;                                                                                                \
        for (; r + 4 <= rows; r += 4) qk_a8_block(w, codes, row_scales, act_sums, za, r, 4, p, NP, IS4, out, ldo); \
        switch (rows - r) {                                                                                       \
        case 3: qk_a8_block(w, codes, row_scales, act_sums, za, r, 3, p, NP, IS4, out, ldo); break;               \
        case 2: qk_a8_block(w, codes, row_scales, act_sums, za, r, 2, p, NP, IS4, out, ldo); break;               \
        case 1: qk_a8_block(w, codes, row_scales, act_sums, za, r, 1, p, NP, IS4, out, ldo); break;               \
        default: break;                                                                                           \
        }                                                                                                         \
    } while (0)

QK_AVX512 static void qk_a8_int8(const qk_weight *w, const uint8_t *codes, const float *row_scales,
                                 const int32_t *act_sums, int32_t za, int rows, int panel_begin, int panel_end,
                                 float *out, int ldo) {
    int p = panel_begin;
    for (; p + 2 <= panel_end; p += 2) QK_A8_ROWS(2, 0);
    if (p < panel_end) QK_A8_ROWS(1, 0);
}

QK_AVX512 static void qk_a8_uint4(const qk_weight *w, const uint8_t *codes, const float *row_scales,
                                  const int32_t *act_sums, int32_t za, int rows, int panel_begin, int panel_end,
                                  float *out, int ldo) {
    int p = panel_begin;
    for (; p + 2 <= panel_end; p += 2) QK_A8_ROWS(2, 1);
    if (p < panel_end) QK_A8_ROWS(1, 1);
}

QK_AVX512 void qk_avx512_matmul_a8(const qk_weight *w, const uint8_t *codes, const float *row_scales,
                                   const int32_t *act_sums, int32_t zero_point, int rows, int panel_begin,
                                   int panel_end, float *out, int ldo) {
    if (w->format == QK_FORMAT_UINT4)
        qk_a8_uint4(w, codes, row_scales, act_sums, zero_point + 128, rows, panel_begin, panel_end, out, ldo);
    else
        qk_a8_int8(w, codes, row_scales, act_sums, zero_point + 128, rows, panel_begin, panel_end, out, ldo);
}

// ---- float activations ----

/// Column c (0...3) of a 64-byte step of one-byte codes as 16 floats (FORMAT: int8 or fp8; 2^120 is applied by
/// the caller for fp8).
QK_INLINE __m512 qk_byte_column(__m512i v, const int c, const int FORMAT) {
    if (FORMAT == QK_FORMAT_INT8) {
        __m512i t = c == 3 ? v : _mm512_slli_epi32(v, 24 - 8 * c);
        return _mm512_cvtepi32_ps(_mm512_srai_epi32(t, 24));
    }
    // FP8 E4M3: the code's byte moved to the top: sign stays at bit 31, bits 6..0 go to 26..20 (exponent's low
    // bits and mantissa): the float is 2^-120 times the code's value, normal or subnormal.
    __m512i t = c == 3 ? v : _mm512_slli_epi32(v, 24 - 8 * c);
    __m512i sign = _mm512_and_si512(t, _mm512_set1_epi32((int32_t)0x80000000u));
    __m512i magnitude = _mm512_srli_epi32(_mm512_and_si512(t, _mm512_set1_epi32(0x7F000000)), 4);
    return _mm512_mul_ps(_mm512_castsi512_ps(_mm512_or_si512(sign, magnitude)), _mm512_set1_ps(0x1p120f));
}

QK_INLINE void qk_f32_block(const qk_weight *w, const float *x, const float *xsums, int r0, const int NR, int p,
                            const int NP, const int FORMAT, float *out, int ldo) {
    const size_t panel_bytes = qk_panel_bytes(w);
    const int step = FORMAT == QK_FORMAT_UINT4 ? 8 : 4;
    const int G = w->group_count, K = w->in_features;
    const int full_steps = K / step;
    const uint8_t *panel[2];
    const float *row[4];
    float tail[4][8];
    for (int j = 0; j < NP; j++) panel[j] = w->codes + (size_t)(p + j) * panel_bytes;
    for (int i = 0; i < NR; i++) {
        row[i] = x + (size_t)(r0 + i) * K;
        for (int c = 0; c < 8; c++) {
            int k = full_steps * step + c;
            tail[i][c] = (c < step && k < K) ? row[i][k] : 0.0f;
        }
    }
    __m512 total[4][2];
    for (int i = 0; i < NR; i++)
        for (int j = 0; j < NP; j++) total[i][j] = _mm512_setzero_ps();
    const __m512 nibble_values = _mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    for (int g = 0; g < G; g++) {
        const int s0 = g * w->group_size / step;
        const int s1 = (qk_group_end(w, g) + step - 1) / step;
        // Few rows: a second accumulator per output halves the FMA dependency chains (else latency-bound).
        const int SPLIT = NR <= 2;
        __m512 dot[4][2], dot2[4][2];
        for (int i = 0; i < NR; i++)
            for (int j = 0; j < NP; j++) dot[i][j] = dot2[i][j] = _mm512_setzero_ps();
        for (int s = s0; s < s1; s++) {
            const float *xs[4];
            for (int i = 0; i < NR; i++) xs[i] = s < full_steps ? row[i] + (size_t)s * step : tail[i];
            __m512i v[2];
            for (int j = 0; j < NP; j++) v[j] = _mm512_loadu_si512(panel[j] + (size_t)s * 64);
            if (FORMAT == QK_FORMAT_UINT4) {
                for (int c = 0; c < 4; c++) {
                    for (int j = 0; j < NP; j++) {
                        // vpermps reads only the low 4 bits of each index: the shifted dword picks the nibble's
                        // float from the table {0, 1, ..., 15} with no mask and no conversion.
                        __m512 lo = _mm512_permutexvar_ps(c == 0 ? v[j] : _mm512_srli_epi32(v[j], 8 * c), nibble_values);
                        __m512 hi = _mm512_permutexvar_ps(_mm512_srli_epi32(v[j], 8 * c + 4), nibble_values);
                        for (int i = 0; i < NR; i++) {
                            dot[i][j] = _mm512_fmadd_ps(lo, _mm512_set1_ps(xs[i][c]), dot[i][j]);
                            if (SPLIT) dot2[i][j] = _mm512_fmadd_ps(hi, _mm512_set1_ps(xs[i][c + 4]), dot2[i][j]);
                            else dot[i][j] = _mm512_fmadd_ps(hi, _mm512_set1_ps(xs[i][c + 4]), dot[i][j]);
                        }
                    }
                }
            } else {
                for (int c = 0; c < 4; c++) {
                    for (int j = 0; j < NP; j++) {
                        __m512 f = qk_byte_column(v[j], c, FORMAT);
                        for (int i = 0; i < NR; i++) {
                            if (SPLIT && (c & 1)) dot2[i][j] = _mm512_fmadd_ps(f, _mm512_set1_ps(xs[i][c]), dot2[i][j]);
                            else dot[i][j] = _mm512_fmadd_ps(f, _mm512_set1_ps(xs[i][c]), dot[i][j]);
                        }
                    }
                }
            }
        }
        for (int j = 0; j < NP; j++) {
            const size_t index = ((size_t)(p + j) * G + g) * QK_PANEL;
            const __m512 scale = qk_scales16(w, index);
            for (int i = 0; i < NR; i++) {
                if (SPLIT) dot[i][j] = _mm512_add_ps(dot[i][j], dot2[i][j]);
                total[i][j] = _mm512_fmadd_ps(scale, dot[i][j], total[i][j]);
            }
            if (FORMAT == QK_FORMAT_UINT4) {
                const __m512 offset = qk_offsets16(w, index, scale);
                for (int i = 0; i < NR; i++)
                    total[i][j] = _mm512_fmadd_ps(offset, _mm512_set1_ps(xsums[(size_t)(r0 + i) * G + g]), total[i][j]);
            }
        }
    }
    for (int i = 0; i < NR; i++)
        for (int j = 0; j < NP; j++)
            _mm512_mask_storeu_ps(out + (size_t)(r0 + i) * ldo + (p + j) * QK_PANEL, qk_lane_mask(w, p + j),
                                  total[i][j]);
}

#define QK_F32_ROWS(NP, FORMAT)                                                                       \
    do {                                                                                              \
        int r = 0;                                                                                    \
        for (; r + 4 <= rows; r += 4) qk_f32_block(w, x, xsums, r, 4, p, NP, FORMAT, out, ldo);        \
        switch (rows - r) {                                                                           \
        case 3: qk_f32_block(w, x, xsums, r, 3, p, NP, FORMAT, out, ldo); break;                      \
        case 2: qk_f32_block(w, x, xsums, r, 2, p, NP, FORMAT, out, ldo); break;                      \
        case 1: qk_f32_block(w, x, xsums, r, 1, p, NP, FORMAT, out, ldo); break;                      \
        default: break;                                                                               \
        }                                                                                             \
    } while (0)

#define QK_F32_FORMAT(NAME, FORMAT)                                                                            \
    QK_AVX512 static void NAME(const qk_weight *w, const float *x, const float *xsums, int rows, int panel_begin, \
                               int panel_end, float *out, int ldo) {                                           \
        int p = panel_begin;                                                                                   \
        for (; p + 2 <= panel_end; p += 2) QK_F32_ROWS(2, FORMAT);                                             \
        if (p < panel_end) QK_F32_ROWS(1, FORMAT);                                                             \
    }

QK_F32_FORMAT(qk_f32_int8, QK_FORMAT_INT8)
QK_F32_FORMAT(qk_f32_uint4, QK_FORMAT_UINT4)
QK_F32_FORMAT(qk_f32_fp8, QK_FORMAT_FP8E4M3)

QK_AVX512 void qk_avx512_matmul_f32(const qk_weight *w, const float *x, int rows, int panel_begin, int panel_end,
                                    float *out, int ldo) {
    if (w->format == QK_FORMAT_UINT4) {
        float *xsums = (float *)malloc(sizeof(float) * (size_t)rows * w->group_count);
        for (int r = 0; r < rows; r++)
            for (int g = 0; g < w->group_count; g++) {
                float sum = 0;
                for (int k = g * w->group_size; k < qk_group_end(w, g); k++) sum += x[(size_t)r * w->in_features + k];
                xsums[(size_t)r * w->group_count + g] = sum;
            }
        qk_f32_uint4(w, x, xsums, rows, panel_begin, panel_end, out, ldo);
        free(xsums);
    } else if (w->format == QK_FORMAT_INT8) {
        qk_f32_int8(w, x, NULL, rows, panel_begin, panel_end, out, ldo);
    } else {
        qk_f32_fp8(w, x, NULL, rows, panel_begin, panel_end, out, ldo);
    }
}

// ---- dequantized tiles ----

QK_INLINE void qk_dequantize_panel(const qk_weight *w, int p, float *tile, int ldt, const int FORMAT) {
    const int step = FORMAT == QK_FORMAT_UINT4 ? 8 : 4;
    const int G = w->group_count;
    const uint8_t *panel = w->codes + (size_t)p * qk_panel_bytes(w);
    const __m512 nibble_values = _mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    for (int g = 0; g < G; g++) {
        const size_t index = ((size_t)p * G + g) * QK_PANEL;
        const __m512 scale = qk_scales16(w, index);
        const __m512 offset = FORMAT == QK_FORMAT_UINT4 ? qk_offsets16(w, index, scale) : _mm512_setzero_ps();
        const int k1 = qk_group_end(w, g);
        for (int k = g * w->group_size; k < k1; k += step) {
            const __m512i v = _mm512_loadu_si512(panel + (size_t)(k / step) * 64);
            const int columns = k1 - k < step ? k1 - k : step;
            for (int c = 0; c < step; c++) {
                if (c >= columns) break;
                __m512 value;
                if (FORMAT == QK_FORMAT_UINT4) {
                    const int shift = 8 * (c & 3) + 4 * (c >> 2);
                    value = _mm512_fmadd_ps(
                        scale, _mm512_permutexvar_ps(shift ? _mm512_srli_epi32(v, shift) : v, nibble_values), offset);
                } else {
                    // fp8: exact value first (× 2^120 inside qk_byte_column), then the scale, as the reference.
                    value = _mm512_mul_ps(scale, qk_byte_column(v, c, FORMAT));
                }
                _mm512_storeu_ps(tile + (size_t)(k + c) * ldt, value);
            }
        }
    }
}

QK_AVX512 void qk_avx512_dequantize_panels(const qk_weight *w, int panel_begin, int panel_end, float *tile, int ldt) {
    for (int p = panel_begin; p < panel_end; p++) {
        float *target = tile + (size_t)(p - panel_begin) * QK_PANEL;
        if (w->format == QK_FORMAT_UINT4) qk_dequantize_panel(w, p, target, ldt, QK_FORMAT_UINT4);
        else if (w->format == QK_FORMAT_INT8) qk_dequantize_panel(w, p, target, ldt, QK_FORMAT_INT8);
        else qk_dequantize_panel(w, p, target, ldt, QK_FORMAT_FP8E4M3);
    }
}

#endif
