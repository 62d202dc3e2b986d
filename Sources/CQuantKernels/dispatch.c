// Runtime dispatch: each entry point runs the requested path's kernel (the caller checks qk_cpu_supports first).
#include "internal.h"

int qk_cpu_supports(int path) {
    switch (path) {
    case QK_PATH_PORTABLE: return 1;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    case QK_PATH_AVX2:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
    case QK_PATH_VNNI:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni") &&
               __builtin_cpu_supports("fma");
#endif
    default: return 0;
    }
}

// The intrinsic paths are compiled in when their files define the kernels (QK_FAST_PATHS).
#ifndef QK_FAST_PATHS
#define QK_FAST_PATHS 1
#endif
#if defined(__x86_64__) && QK_FAST_PATHS
#define QK_X86 1
#else
#define QK_X86 0
#endif

void qk_quantize_rows(const float *x, int rows, int in_features, int padded_in, int group_size, int group_count,
                      int dynamic, float static_scale, int32_t zero_point, uint8_t *codes, float *row_scales,
                      int32_t *act_sums, int path) {
#if QK_X86
    if (path == QK_PATH_VNNI) {
        qk_avx512_quantize_rows(x, rows, in_features, padded_in, group_size, group_count, dynamic, static_scale,
                                zero_point, codes, row_scales, act_sums);
        return;
    }
#endif
    (void)path;
    qk_portable_quantize_rows(x, rows, in_features, padded_in, group_size, group_count, dynamic, static_scale,
                              zero_point, codes, row_scales, act_sums);
}

void qk_matmul_a8(const qk_weight *w, const uint8_t *codes, const float *row_scales, const int32_t *act_sums,
                  int32_t zero_point, int rows, int panel_begin, int panel_end, float *out, int ldo, int path) {
#if QK_X86
    if (path == QK_PATH_VNNI) {
        qk_avx512_matmul_a8(w, codes, row_scales, act_sums, zero_point, rows, panel_begin, panel_end, out, ldo);
        return;
    }
    if (path == QK_PATH_AVX2) {
        qk_avx2_matmul_a8(w, codes, row_scales, act_sums, zero_point, rows, panel_begin, panel_end, out, ldo);
        return;
    }
#endif
    (void)path;
    qk_portable_matmul_a8(w, codes, row_scales, act_sums, zero_point, rows, panel_begin, panel_end, out, ldo);
}

void qk_matmul_f32(const qk_weight *w, const float *x, int rows, int panel_begin, int panel_end, float *out, int ldo,
                   int path) {
#if QK_X86
    if (path == QK_PATH_VNNI) {
        qk_avx512_matmul_f32(w, x, rows, panel_begin, panel_end, out, ldo);
        return;
    }
    if (path == QK_PATH_AVX2) {
        qk_avx2_matmul_f32(w, x, rows, panel_begin, panel_end, out, ldo);
        return;
    }
#endif
    (void)path;
    qk_portable_matmul_f32(w, x, rows, panel_begin, panel_end, out, ldo);
}

void qk_dequantize_panels(const qk_weight *w, int panel_begin, int panel_end, float *tile, int ldt, int path) {
#if QK_X86
    if (path == QK_PATH_VNNI) {
        qk_avx512_dequantize_panels(w, panel_begin, panel_end, tile, ldt);
        return;
    }
#endif
    (void)path;
    qk_portable_dequantize_panels(w, panel_begin, panel_end, tile, ldt);
}
