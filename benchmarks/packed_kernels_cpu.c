// Single-thread micro-benchmark of the packed kernels (CQuantKernels, vnni path) against OpenBLAS sgemm, timed in
// thread CPU time so that other processes on a shared machine do not inflate the numbers. Prints, per SmolLM2 shape
// and format, decode GEMV (float and int8 activations) in GB/s of packed weight bytes, and 256-row prefill in
// GFLOP/s: int8 activations (VNNI), and float activations as dequantized tile + sgemm next to sgemm alone.
//   S=Sources/CQuantKernels; clang -O3 -I$S/include -I$S -o /tmp/packed_kernels_cpu benchmarks/packed_kernels_cpu.c \
//     $S/portable.c $S/avx512.c $S/avx2.c $S/dispatch.c -lopenblas -lm && OPENBLAS_CORETYPE=Haswell /tmp/packed_kernels_cpu
#include "internal.h"
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static uint64_t state = 12345;
static uint64_t next(void) {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static float uniform(float a, float b) { return a + (b - a) * (float)(next() >> 40) / (float)(1 << 24); }
static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/// A random weight in the panel layout (codes, scales, offsets, code sums), packed by qk_pack.
static qk_weight make_weight(int format, int out, int in, int group_size) {
    int step = format == QK_FORMAT_UINT4 ? 8 : 4, padded = (in + step - 1) / step * step;
    int panels = (out + 15) / 16, groups = (in + group_size - 1) / group_size;
    size_t panel_bytes = format == QK_FORMAT_UINT4 ? (size_t)padded * 8 : (size_t)padded * 16;
    uint8_t *codes = malloc((size_t)out * in), *packed = calloc(panels * panel_bytes, 1);
    for (size_t i = 0; i < (size_t)out * in; i++) {
        uint8_t c = format == QK_FORMAT_UINT4 ? next() & 15 : next() & 255;
        if (format == QK_FORMAT_FP8E4M3 && (c & 0x7F) == 0x7F) c ^= 1;
        codes[i] = c;
    }
    int32_t *sums = format == QK_FORMAT_FP8E4M3 ? NULL : calloc((size_t)panels * groups * 16, 4);
    qk_pack(format, codes, out, in, group_size, groups, padded, packed, sums);
    float *scales = calloc((size_t)panels * groups * 16, 4), *offsets = NULL;
    for (size_t i = 0; i < (size_t)panels * groups * 16; i++) scales[i] = uniform(0.001f, 0.02f);
    if (format == QK_FORMAT_UINT4) {
        offsets = calloc((size_t)panels * groups * 16, 4);
        for (size_t i = 0; i < (size_t)panels * groups * 16; i++) offsets[i] = -8 * scales[i];
    }
    free(codes);
    return (qk_weight){format, out, in, group_size, groups, padded, panels, packed, scales, offsets, sums};
}

int main(void) {
    openblas_set_num_threads(1);
    const int shapes[][2] = {{576, 576}, {576, 192}, {576, 1536}, {1536, 576}, {576, 49152}};
    const char *names[] = {"int8 (per channel)", "uint4 g32", "fp8e4m3 (per channel)"};
    const int rows = 256;
    for (int s = 0; s < 5; s++) {
        const int in = shapes[s][0], out = shapes[s][1];
        float *x = malloc(sizeof(float) * rows * in), *y = malloc(sizeof(float) * (size_t)rows * out);
        for (int i = 0; i < rows * in; i++) x[i] = uniform(-2, 2);
        for (int f = 0; f < 3; f++) {
            qk_weight w = make_weight(f, out, in, f == QK_FORMAT_UINT4 ? 32 : in);
            double bytes = (double)w.panel_count * qk_panel_bytes(&w) +
                           4.0 * w.panel_count * w.group_count * 16 * (w.offsets ? 2 : 1);
            uint8_t *codes = malloc((size_t)rows * w.padded_in);
            float *row_scales = malloc(sizeof(float) * rows), *tile = malloc(sizeof(float) * w.panel_count * 16 * in);
            int32_t *sums = malloc(sizeof(int32_t) * rows * w.group_count);
            float *dense = malloc(sizeof(float) * w.panel_count * 16 * in);
            qk_portable_dequantize_panels(&w, 0, w.panel_count, dense, w.panel_count * 16);
            double gemv = 1e9, gemv8 = 1e9, prefill8 = 1e9, tiled = 1e9, sgemm = 1e9;
            for (int rep = 0; rep < 5; rep++) {
                double t = now();
                qk_matmul_f32(&w, x, 1, 0, w.panel_count, y, out, QK_PATH_VNNI);
                gemv = fmin(gemv, now() - t);
                if (f != QK_FORMAT_FP8E4M3) {
                    t = now();
                    qk_quantize_rows(x, 1, in, w.padded_in, w.group_size, w.group_count, 1, 0, 0, codes, row_scales,
                                     sums, QK_PATH_VNNI);
                    qk_matmul_a8(&w, codes, row_scales, sums, 0, 1, 0, w.panel_count, y, out, QK_PATH_VNNI);
                    gemv8 = fmin(gemv8, now() - t);
                    t = now();
                    qk_quantize_rows(x, rows, in, w.padded_in, w.group_size, w.group_count, 1, 0, 0, codes,
                                     row_scales, sums, QK_PATH_VNNI);
                    qk_matmul_a8(&w, codes, row_scales, sums, 0, rows, 0, w.panel_count, y, out, QK_PATH_VNNI);
                    prefill8 = fmin(prefill8, now() - t);
                }
                t = now();
                qk_dequantize_panels(&w, 0, w.panel_count, tile, w.panel_count * 16, QK_PATH_VNNI);
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, out, in, 1, x, in, tile,
                            w.panel_count * 16, 0, y, out);
                tiled = fmin(tiled, now() - t);
                t = now();
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, out, in, 1, x, in, dense, in, 0, y, out);
                sgemm = fmin(sgemm, now() - t);
            }
            double flops = 2.0 * rows * in * out;
            printf("[%d->%d] %-22s decode: float %6.1f GB/s", in, out, names[f], bytes / gemv / 1e9);
            if (f != QK_FORMAT_FP8E4M3) printf(", int8 %6.1f GB/s", bytes / gemv8 / 1e9);
            else printf(",                  ");
            printf(" | prefill %d: ", rows);
            if (f != QK_FORMAT_FP8E4M3) printf("int8 %4.0f GFLOP/s, ", flops / prefill8 / 1e9);
            printf("tile+sgemm %4.0f, sgemm %4.0f GFLOP/s (%.2fx)\n", flops / tiled / 1e9, flops / sgemm / 1e9,
                   sgemm / tiled);
            free(codes), free(row_scales), free(tile), free(sums), free(dense);
        }
        free(x), free(y);
    }
    return 0;
}
