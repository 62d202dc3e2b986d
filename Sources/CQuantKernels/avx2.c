// AVX2 + FMA kernels (the "avx2" path): 8 output lanes at a time (a panel's two halves: bytes 0-31 and 32-63 of
// each 64-byte step). Int8 activations without VNNI: int8 weights widen to 16 bits for vpmaddwd (u8 × s8 pairs would
// saturate vpmaddubsw); uint4 weights are small enough for vpmaddubsw.
#include "internal.h"
#include <stdlib.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define QK_AVX2 __attribute__((target("avx2,fma,f16c")))
#define QK_INLINE static inline __attribute__((always_inline)) QK_AVX2

static inline int32_t qk_load_i32(const uint8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

/// Stores the first `lanes` (1...8) of v.
QK_INLINE void qk_store_lanes(float *target, __m256 v, int lanes) {
    if (lanes >= 8) {
        _mm256_storeu_ps(target, v);
        return;
    }
    const __m256i index = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    _mm256_maskstore_ps(target, _mm256_cmpgt_epi32(_mm256_set1_epi32(lanes), index), v);
}

/// The 8 scales of parameter slots [index, index + 8) (float32 or half storage).
QK_INLINE __m256 qk_scales8(const qk_weight *w, size_t index) {
    if (w->scales) return _mm256_loadu_ps(w->scales + index);
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w->scales_f16 + index)));
}

/// The 8 offsets of a uint4 weight's slots [index, index + 8): stored, or −8 · scale (exact).
QK_INLINE __m256 qk_offsets8(const qk_weight *w, size_t index, __m256 scale) {
    if (w->offsets) return _mm256_loadu_ps(w->offsets + index);
    if (w->offsets_f16) return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w->offsets_f16 + index)));
    return _mm256_mul_ps(scale, _mm256_set1_ps(-8.0f));
}

// ---- int8 activations ----

/// Uint4 weights: NR rows × one half panel (8 lanes, h = 0 or 1) of panel p; codes 0...15 are small enough for
/// vpmaddubsw (u8 activation × code pairs stay below 2^15).
QK_INLINE void qk_a8_half(const qk_weight *w, const uint8_t *codes, const float *row_scales, const int32_t *act_sums,
                          int32_t za, int r0, const int NR, int p, int h, float *out, int ldo) {
    const int lanes = w->out_features - (p * QK_PANEL + 8 * h);
    if (lanes <= 0) return;
    const int step = 8;
    const int G = w->group_count;
    const uint8_t *panel = w->codes + (size_t)p * qk_panel_bytes(w) + 32 * h;
    const uint8_t *a[4];
    for (int i = 0; i < NR; i++) a[i] = codes + (size_t)(r0 + i) * w->padded_in;
    __m256 total[4];
    for (int i = 0; i < NR; i++) total[i] = _mm256_setzero_ps();
    const __m256i ones16 = _mm256_set1_epi16(1);
    const __m256i low_nibbles = _mm256_set1_epi8(0x0F);
    for (int g = 0; g < G; g++) {
        const int s0 = g * w->group_size / step;
        const int s1 = (qk_group_end(w, g) + step - 1) / step;
        __m256i acc[4][1];
        for (int i = 0; i < NR; i++) acc[i][0] = _mm256_setzero_si256();
        for (int s = s0; s < s1; s++) {
            __m256i v = _mm256_loadu_si256((const __m256i *)(panel + (size_t)s * 64));
            __m256i lo = _mm256_and_si256(v, low_nibbles);
            __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low_nibbles);
            for (int i = 0; i < NR; i++) {
                __m256i alo = _mm256_set1_epi32(qk_load_i32(a[i] + (size_t)s * 8));
                __m256i ahi = _mm256_set1_epi32(qk_load_i32(a[i] + (size_t)s * 8 + 4));
                __m256i pairs = _mm256_add_epi16(_mm256_maddubs_epi16(alo, lo), _mm256_maddubs_epi16(ahi, hi));
                acc[i][0] = _mm256_add_epi32(acc[i][0], _mm256_madd_epi16(pairs, ones16));
            }
        }
        const size_t index = ((size_t)p * G + g) * QK_PANEL + 8 * h;
        const __m256 scale = qk_scales8(w, index);
        const __m256 offset = qk_offsets8(w, index, scale);
        const __m256i correction = _mm256_mullo_epi32(
            _mm256_set1_epi32(za), _mm256_loadu_si256((const __m256i *)(w->code_sums + index)));
        for (int i = 0; i < NR; i++) {
            __m256 dot = _mm256_cvtepi32_ps(_mm256_sub_epi32(acc[i][0], correction));
            total[i] = _mm256_fmadd_ps(scale, dot, total[i]);
            total[i] = _mm256_fmadd_ps(offset, _mm256_set1_ps((float)act_sums[(size_t)(r0 + i) * G + g]), total[i]);
        }
    }
    for (int i = 0; i < NR; i++)
        qk_store_lanes(out + (size_t)(r0 + i) * ldo + p * QK_PANEL + 8 * h,
                       _mm256_mul_ps(total[i], _mm256_set1_ps(row_scales[r0 + i])), lanes);
}

/// Int8 weights, NR (1 or 2) rows × a whole panel: activation codes pre-widened to 16 bits (a16: [rows][padded_in])
/// so one 64-bit broadcast feeds four vpmaddwd (each 4 lanes × 4 columns).
QK_INLINE void qk_a8_int8_panel(const qk_weight *w, const int16_t *a16, const float *row_scales, int32_t za, int r0,
                                const int NR, int p, float *out, int ldo) {
    const int G = w->group_count;
    const uint8_t *panel = w->codes + (size_t)p * qk_panel_bytes(w);
    const int16_t *a[2];
    for (int i = 0; i < NR; i++) a[i] = a16 + (size_t)(r0 + i) * w->padded_in;
    __m256 total[2][2];
    for (int i = 0; i < NR; i++) total[i][0] = total[i][1] = _mm256_setzero_ps();
    const __m256i order = _mm256_setr_epi32(0, 1, 4, 5, 2, 3, 6, 7);
    for (int g = 0; g < G; g++) {
        const int s0 = g * w->group_size / 4;
        const int s1 = (qk_group_end(w, g) + 3) / 4;
        __m256i acc[2][4];
        for (int i = 0; i < NR; i++) acc[i][0] = acc[i][1] = acc[i][2] = acc[i][3] = _mm256_setzero_si256();
        for (int s = s0; s < s1; s++) {
            const __m128i *v = (const __m128i *)(panel + (size_t)s * 64);
            __m256i w16[4];
            for (int q = 0; q < 4; q++) w16[q] = _mm256_cvtepi8_epi16(_mm_loadu_si128(v + q));
            for (int i = 0; i < NR; i++) {
                int64_t pattern;
                memcpy(&pattern, a[i] + (size_t)s * 4, 8);
                const __m256i av = _mm256_set1_epi64x(pattern);
                for (int q = 0; q < 4; q++) acc[i][q] = _mm256_add_epi32(acc[i][q], _mm256_madd_epi16(w16[q], av));
            }
        }
        for (int h = 0; h < 2; h++) {
            const size_t index = ((size_t)p * G + g) * QK_PANEL + 8 * h;
            const __m256 scale = qk_scales8(w, index);
            const __m256i correction = _mm256_mullo_epi32(
                _mm256_set1_epi32(za), _mm256_loadu_si256((const __m256i *)(w->code_sums + index)));
            for (int i = 0; i < NR; i++) {
                __m256i sums =
                    _mm256_permutevar8x32_epi32(_mm256_hadd_epi32(acc[i][2 * h], acc[i][2 * h + 1]), order);
                total[i][h] = _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(_mm256_sub_epi32(sums, correction)), total[i][h]);
            }
        }
    }
    for (int i = 0; i < NR; i++)
        for (int h = 0; h < 2; h++) {
            const int lanes = w->out_features - (p * QK_PANEL + 8 * h);
            if (lanes > 0)
                qk_store_lanes(out + (size_t)(r0 + i) * ldo + p * QK_PANEL + 8 * h,
                               _mm256_mul_ps(total[i][h], _mm256_set1_ps(row_scales[r0 + i])), lanes);
        }
}

#define QK_A8_ROWS()                                                                                            \
    for (int h = 0; h < 2; h++) {                                                                                  \
        int r = 0;                                                                                                 \
        for (; r + 4 <= rows; r += 4) qk_a8_half(w, codes, row_scales, act_sums, za, r, 4, p, h, out, ldo);   \
        switch (rows - r) {                                                                                        \
        case 3: qk_a8_half(w, codes, row_scales, act_sums, za, r, 3, p, h, out, ldo); break;                  \
        case 2: qk_a8_half(w, codes, row_scales, act_sums, za, r, 2, p, h, out, ldo); break;                  \
        case 1: qk_a8_half(w, codes, row_scales, act_sums, za, r, 1, p, h, out, ldo); break;                  \
        default: break;                                                                                            \
        }                                                                                                          \
    }

QK_AVX2 void qk_avx2_matmul_a8(const qk_weight *w, const uint8_t *codes, const float *row_scales,
                               const int32_t *act_sums, int32_t zero_point, int rows, int panel_begin, int panel_end,
                               float *out, int ldo) {
    const int32_t za = zero_point + 128;
    if (w->format == QK_FORMAT_UINT4) {
        for (int p = panel_begin; p < panel_end; p++) QK_A8_ROWS()
        return;
    }
    int16_t *a16 = (int16_t *)malloc(sizeof(int16_t) * (size_t)rows * w->padded_in);
    for (size_t k = 0; k < (size_t)rows * w->padded_in; k++) a16[k] = codes[k];
    for (int p = panel_begin; p < panel_end; p++) {
        int r = 0;
        for (; r + 2 <= rows; r += 2) qk_a8_int8_panel(w, a16, row_scales, za, r, 2, p, out, ldo);
        if (r < rows) qk_a8_int8_panel(w, a16, row_scales, za, r, 1, p, out, ldo);
    }
    free(a16);
}

// ---- float activations ----

QK_INLINE __m256 qk_byte_column(__m256i v, const int c, const int FORMAT) {
    __m256i t = c == 3 ? v : _mm256_slli_epi32(v, 24 - 8 * c);
    if (FORMAT == QK_FORMAT_INT8) return _mm256_cvtepi32_ps(_mm256_srai_epi32(t, 24));
    __m256i sign = _mm256_and_si256(t, _mm256_set1_epi32((int32_t)0x80000000u));
    __m256i magnitude = _mm256_srli_epi32(_mm256_and_si256(t, _mm256_set1_epi32(0x7F000000)), 4);
    return _mm256_mul_ps(_mm256_castsi256_ps(_mm256_or_si256(sign, magnitude)), _mm256_set1_ps(0x1p120f));
}

QK_INLINE void qk_f32_half(const qk_weight *w, const float *x, const float *xsums, int r0, const int NR, int p, int h,
                           const int FORMAT, float *out, int ldo) {
    const int lanes = w->out_features - (p * QK_PANEL + 8 * h);
    if (lanes <= 0) return;
    const int step = FORMAT == QK_FORMAT_UINT4 ? 8 : 4;
    const int G = w->group_count, K = w->in_features;
    const int full_steps = K / step;
    const uint8_t *panel = w->codes + (size_t)p * qk_panel_bytes(w) + 32 * h;
    const float *row[4];
    float tail[4][8];
    for (int i = 0; i < NR; i++) {
        row[i] = x + (size_t)(r0 + i) * K;
        for (int c = 0; c < 8; c++) {
            int k = full_steps * step + c;
            tail[i][c] = (c < step && k < K) ? row[i][k] : 0.0f;
        }
    }
    __m256 total[4];
    for (int i = 0; i < NR; i++) total[i] = _mm256_setzero_ps();
    const __m256i low_nibble = _mm256_set1_epi32(0x0F);
    for (int g = 0; g < G; g++) {
        const int s0 = g * w->group_size / step;
        const int s1 = (qk_group_end(w, g) + step - 1) / step;
        __m256 dot[4];
        for (int i = 0; i < NR; i++) dot[i] = _mm256_setzero_ps();
        for (int s = s0; s < s1; s++) {
            const float *xs[4];
            for (int i = 0; i < NR; i++) xs[i] = s < full_steps ? row[i] + (size_t)s * step : tail[i];
            __m256i v = _mm256_loadu_si256((const __m256i *)(panel + (size_t)s * 64));
            for (int c = 0; c < 4; c++) {
                if (FORMAT == QK_FORMAT_UINT4) {
                    __m256 lo = _mm256_cvtepi32_ps(_mm256_and_si256(_mm256_srli_epi32(v, 8 * c), low_nibble));
                    __m256 hi = _mm256_cvtepi32_ps(_mm256_and_si256(_mm256_srli_epi32(v, 8 * c + 4), low_nibble));
                    for (int i = 0; i < NR; i++) {
                        dot[i] = _mm256_fmadd_ps(lo, _mm256_set1_ps(xs[i][c]), dot[i]);
                        dot[i] = _mm256_fmadd_ps(hi, _mm256_set1_ps(xs[i][c + 4]), dot[i]);
                    }
                } else {
                    __m256 f = qk_byte_column(v, c, FORMAT);
                    for (int i = 0; i < NR; i++) dot[i] = _mm256_fmadd_ps(f, _mm256_set1_ps(xs[i][c]), dot[i]);
                }
            }
        }
        const size_t index = ((size_t)p * G + g) * QK_PANEL + 8 * h;
        const __m256 scale = qk_scales8(w, index);
        const __m256 offset = FORMAT == QK_FORMAT_UINT4 ? qk_offsets8(w, index, scale) : _mm256_setzero_ps();
        for (int i = 0; i < NR; i++) {
            total[i] = _mm256_fmadd_ps(scale, dot[i], total[i]);
            if (FORMAT == QK_FORMAT_UINT4)
                total[i] = _mm256_fmadd_ps(offset, _mm256_set1_ps(xsums[(size_t)(r0 + i) * G + g]), total[i]);
        }
    }
    for (int i = 0; i < NR; i++) qk_store_lanes(out + (size_t)(r0 + i) * ldo + p * QK_PANEL + 8 * h, total[i], lanes);
}

#define QK_F32_ROWS(FORMAT)                                                                        \
    for (int h = 0; h < 2; h++) {                                                                  \
        int r = 0;                                                                                 \
        for (; r + 4 <= rows; r += 4) qk_f32_half(w, x, xsums, r, 4, p, h, FORMAT, out, ldo);       \
        switch (rows - r) {                                                                        \
        case 3: qk_f32_half(w, x, xsums, r, 3, p, h, FORMAT, out, ldo); break;                     \
        case 2: qk_f32_half(w, x, xsums, r, 2, p, h, FORMAT, out, ldo); break;                     \
        case 1: qk_f32_half(w, x, xsums, r, 1, p, h, FORMAT, out, ldo); break;                     \
        default: break;                                                                            \
        }                                                                                          \
    }

QK_AVX2 void qk_avx2_matmul_f32(const qk_weight *w, const float *x, int rows, int panel_begin, int panel_end,
                                float *out, int ldo) {
    float *xsums = NULL;
    if (w->format == QK_FORMAT_UINT4) {
        xsums = (float *)malloc(sizeof(float) * (size_t)rows * w->group_count);
        for (int r = 0; r < rows; r++)
            for (int g = 0; g < w->group_count; g++) {
                float sum = 0;
                for (int k = g * w->group_size; k < qk_group_end(w, g); k++) sum += x[(size_t)r * w->in_features + k];
                xsums[(size_t)r * w->group_count + g] = sum;
            }
    }
    for (int p = panel_begin; p < panel_end; p++) {
        if (w->format == QK_FORMAT_UINT4) {
            QK_F32_ROWS(QK_FORMAT_UINT4)
        } else if (w->format == QK_FORMAT_INT8) {
            QK_F32_ROWS(QK_FORMAT_INT8)
        } else {
            QK_F32_ROWS(QK_FORMAT_FP8E4M3)
        }
    }
    free(xsums);
}

#endif
