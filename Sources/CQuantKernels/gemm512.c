// AVX-512 GEMM for float activations over packed weights (prefill of W8A16, W4A16, FP8): each layout step's codes are
// dequantized in registers (scale · code + offset, once per 16 weights) and reused by NR rows, so the conversion is
// amortized like a BLAS packing step without writing a float copy of the weight.
#include "internal.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define QK_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma")))
#define QK_INLINE static inline __attribute__((always_inline)) QK_AVX512

QK_INLINE __mmask16 qk_gemm_lane_mask(const qk_weight *w, int p) {
    int lanes = w->out_features - p * QK_PANEL;
    return lanes >= QK_PANEL ? (__mmask16)0xFFFF : (__mmask16)((1u << lanes) - 1);
}

/// Codes of column c of a 64-byte step as 16 floats (before scale and offset).
QK_INLINE __m512 qk_gemm_codes(__m512i v, const int c, const int FORMAT) {
    if (FORMAT == QK_FORMAT_UINT4) {
        // c 0..3: low nibbles of byte c; c 4..7: high nibbles.
        return _mm512_cvtepi32_ps(_mm512_and_si512(_mm512_srli_epi32(v, 8 * (c & 3) + 4 * (c >> 2)), _mm512_set1_epi32(0x0F)));
    }
    __m512i t = c == 3 ? v : _mm512_slli_epi32(v, 24 - 8 * c);
    if (FORMAT == QK_FORMAT_INT8) return _mm512_cvtepi32_ps(_mm512_srai_epi32(t, 24));
    __m512i sign = _mm512_and_si512(t, _mm512_set1_epi32((int32_t)0x80000000u));
    __m512i magnitude = _mm512_srli_epi32(_mm512_and_si512(t, _mm512_set1_epi32(0x7F000000)), 4);
    // 2^-120 · value; the 2^120 is folded into the scale by the caller (scale · 2^120 as two exact multiplies).
    return _mm512_castsi512_ps(_mm512_or_si512(sign, magnitude));
}

/// NR rows × NP panels; FORMAT constant at each call site.
QK_INLINE void qk_gemm_block(const qk_weight *w, const float *x, int r0, const int NR, int p, const int NP,
                             const int FORMAT, float *out, int ldo) {
    const size_t panel_bytes = qk_panel_bytes(w);
    const int step = FORMAT == QK_FORMAT_UINT4 ? 8 : 4;
    const int G = w->group_count, K = w->in_features;
    const uint8_t *panel[2];
    for (int j = 0; j < NP; j++) panel[j] = w->codes + (size_t)(p + j) * panel_bytes;
    const float *row = x + (size_t)r0 * K;
    __m512 acc[12][2];
    for (int i = 0; i < NR; i++)
        for (int j = 0; j < NP; j++) acc[i][j] = _mm512_setzero_ps();
    for (int g = 0; g < G; g++) {
        const int k0 = g * w->group_size, k1 = qk_group_end(w, g);
        __m512 scale[2], offset[2];
        for (int j = 0; j < NP; j++) {
            const size_t index = ((size_t)(p + j) * G + g) * QK_PANEL;
            scale[j] = _mm512_loadu_ps(w->scales + index);
            if (FORMAT == QK_FORMAT_FP8E4M3) scale[j] = _mm512_mul_ps(scale[j], _mm512_set1_ps(0x1p120f));
            offset[j] = FORMAT == QK_FORMAT_UINT4 ? _mm512_loadu_ps(w->offsets + index) : _mm512_setzero_ps();
        }
        for (int k = k0; k < k1; k += step) {
            const int s = k / step;
            __m512i v[2];
            for (int j = 0; j < NP; j++) v[j] = _mm512_loadu_si512(panel[j] + (size_t)s * 64);
            const int columns = k1 - k < step ? k1 - k : step;
            for (int c = 0; c < step; c++) {
                if (c >= columns) break;
                __m512 weight[2];
                for (int j = 0; j < NP; j++) {
                    __m512 code = qk_gemm_codes(v[j], c, FORMAT);
                    weight[j] = FORMAT == QK_FORMAT_UINT4 ? _mm512_fmadd_ps(scale[j], code, offset[j])
                                                          : _mm512_mul_ps(scale[j], code);
                }
                for (int i = 0; i < NR; i++) {
                    const __m512 xv = _mm512_set1_ps(row[(size_t)i * K + k + c]);
                    for (int j = 0; j < NP; j++) acc[i][j] = _mm512_fmadd_ps(weight[j], xv, acc[i][j]);
                }
            }
        }
    }
    for (int i = 0; i < NR; i++)
        for (int j = 0; j < NP; j++)
            _mm512_mask_storeu_ps(out + (size_t)(r0 + i) * ldo + (p + j) * QK_PANEL, qk_gemm_lane_mask(w, p + j),
                                  acc[i][j]);
}

#define QK_GEMM_ROWS(NP, FORMAT, BIG)                                                           \
    do {                                                                                        \
        int r = 0;                                                                              \
        for (; r + BIG <= rows; r += BIG) qk_gemm_block(w, x, r, BIG, p, NP, FORMAT, out, ldo); \
        for (; r + 4 <= rows; r += 4) qk_gemm_block(w, x, r, 4, p, NP, FORMAT, out, ldo);       \
        switch (rows - r) {                                                                     \
        case 3: qk_gemm_block(w, x, r, 3, p, NP, FORMAT, out, ldo); break;                      \
        case 2: qk_gemm_block(w, x, r, 2, p, NP, FORMAT, out, ldo); break;                      \
        case 1: qk_gemm_block(w, x, r, 1, p, NP, FORMAT, out, ldo); break;                      \
        default: break;                                                                         \
        }                                                                                       \
    } while (0)

#define QK_GEMM_FORMAT(NAME, FORMAT, BIG)                                                                          \
    QK_AVX512 static void NAME(const qk_weight *w, const float *x, int rows, int panel_begin, int panel_end,       \
                               float *out, int ldo) {                                                             \
        int p = panel_begin;                                                                                      \
        for (; p + 2 <= panel_end; p += 2) QK_GEMM_ROWS(2, FORMAT, BIG);                                          \
        if (p < panel_end) QK_GEMM_ROWS(1, FORMAT, BIG);                                                          \
    }

QK_GEMM_FORMAT(qk_gemm_int8, QK_FORMAT_INT8, 12)
QK_GEMM_FORMAT(qk_gemm_uint4, QK_FORMAT_UINT4, 12)
QK_GEMM_FORMAT(qk_gemm_fp8, QK_FORMAT_FP8E4M3, 12)

QK_AVX512 void qk_avx512_gemm_f32(const qk_weight *w, const float *x, int rows, int panel_begin, int panel_end,
                                  float *out, int ldo) {
    if (w->format == QK_FORMAT_UINT4) qk_gemm_uint4(w, x, rows, panel_begin, panel_end, out, ldo);
    else if (w->format == QK_FORMAT_INT8) qk_gemm_int8(w, x, rows, panel_begin, panel_end, out, ldo);
    else qk_gemm_fp8(w, x, rows, panel_begin, panel_end, out, ldo);
}
#endif
