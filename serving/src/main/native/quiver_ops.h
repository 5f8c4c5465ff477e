/*
 * Quiver's ONNX Runtime custom ops (CPU), loaded with SessionOptions.registerCustomOpLibrary: what the op files
 * share. Each kind of op is one file: multi_lora.c (dev.quiver:MultiLora, MultiLoraFp16), matmul_q.c (MatMulQ8,
 * MatMulQ4) and attention.c (Attention, AttentionFp16), with its kernels per instruction set in a header it
 * includes; quiver_ops.c has the helpers below and registers the domain.
 *
 * Built against the C API of ONNX Runtime's headers (API version ORT_API_VERSION of those headers); a newer
 * runtime serves an older API version, so the library runs on the runtime the serving module depends on.
 */
#ifndef QUIVER_OPS_H
#define QUIVER_OPS_H

#include <immintrin.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "onnxruntime_c_api.h"

/* The runtime's API, set when a session registers the library. */
extern const OrtApi *api;

#define CHECK(expr)                            \
    do {                                       \
        OrtStatus *status_ = (expr);           \
        if (status_ != NULL) return status_;   \
    } while (0)


/* An ORT_INVALID_ARGUMENT status saying what is wrong. */
OrtStatus *fail(const char *message);

/* A read-only input's elements (the C API of these headers has only the mutable accessor). */
OrtStatus *data(const OrtValue *value, const void **out);

/*
 * Input i and its dimensions: at most `capacity` of them into shape and their number into rank; an input of more
 * dimensions is the error `too_many`.
 */
OrtStatus *input_dims(OrtKernelContext *context, size_t i, const OrtValue **value, int64_t *shape, size_t capacity,
                      size_t *rank, const char *too_many);

/* Optional input i into value, NULL when the node leaves it out (has fewer inputs). */
OrtStatus *optional_input(OrtKernelContext *context, size_t i, const OrtValue **value);

/* Tasks 0 .. tasks - 1 of fn: on ONNX Runtime's threads when parallel, else one after another on this one. */
OrtStatus *run_tasks(OrtKernelContext *context, void (*fn)(void *, size_t), void *arg, size_t tasks, int parallel);

/* The node's optional string attribute `name` (isa: the kernel set a test picks) into value: 1 when it is there. */
int string_attribute(const OrtKernelInfo *info, const char *name, char value[16]);

/* Output `output` with input `input`'s element type and dimensions, the last set to `last` when not negative. */
OrtStatus *infer_from(OrtShapeInferContext *context, size_t input, size_t output, int64_t last);

/*
 * op with the callbacks every Quiver op shares (the CPU provider, one float output, required inputs and outputs,
 * no aliasing, kernels freed with free); the op's file sets its name, types, counts, kernel and shapes.
 */
void define_op(OrtCustomOp *op);

/*
 * fp16 bits to float, exact for every half, as vcvtph2ps converts it (multi_lora.c's halves16_generic is a 16-wide
 * form for finite halves: its pools are checked to be finite).
 */
static inline __attribute__((always_inline)) float half_to_float(uint16_t h) {
    if ((h & 0x7c00) == 0x7c00) { /* infinity or NaN (an fp16 KV cache can hold them) */
        float special = (h & 0x03ff) ? NAN : INFINITY;
        return (h & 0x8000) ? -special : special;
    }
    uint32_t bits = (uint32_t) (h & 0x7fff) << 13;
    float magnitude;
    memcpy(&magnitude, &bits, sizeof magnitude);
    magnitude *= 0x1p112f;
    return (h & 0x8000) ? -magnitude : magnitude;
}

/* A float to fp16 bits, rounded to nearest even (as vcvtps2ph does); beyond fp16's range, infinity. */
static inline __attribute__((always_inline)) uint16_t float_to_half(float f) {
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    uint32_t sign = (x >> 16) & 0x8000, magnitude = x & 0x7fffffff;
    if (magnitude > 0x7f800000) {
        return (uint16_t) (sign | 0x7e00); /* NaN */
    }
    if (magnitude >= 0x477ff000) {
        return (uint16_t) (sign | 0x7c00); /* 65520 and above round to infinity */
    }
    if (magnitude < 0x38800000) { /* below 2^-14: a subnormal half, in units of 2^-24 */
        float v;
        memcpy(&v, &magnitude, sizeof v);
        return (uint16_t) (sign | (uint32_t) lrintf(v * 0x1p24f));
    }
    return (uint16_t) (sign | ((magnitude + 0x0fff + ((magnitude >> 13) & 1) - 0x38000000) >> 13));
}

/* Frees the index arrays of an alias or in-place map. */
void ORT_API_CALL release_indices(int *input_index, int *output_index);

/* Parts of one output a LoRA update may cover: q, k and v of a stacked projection. */
#define LORA_PARTS 3

/* One part's pools: a [width, in] and b [width, out], its out columns starting at column of y. */
typedef struct {
    const void *a, *b;
    int64_t out, column;
} LoraPart;

/*
 * LoRA updates of one input, y[:, part's columns] += ((x @ a^T) * mask) @ b per token row and part, as MultiLora
 * computes it (multi_lora.c): y's rows are `ldy` floats apart, the pools fp32 or fp16 (half) of width rows,
 * kernels NULL for the best set this CPU runs. All parts run in one parallel section, the rows each slot's mask
 * selects found once. MatMulQ8 and MatMulQ4 apply their adapters with it.
 */
typedef struct {
    const float *x, *mask;
    float *y;
    int64_t tokens, in, ldy, width, rank;
    int half;
    const void *kernels;
    int parts;
    LoraPart part[LORA_PARTS];
} LoraUpdate;

OrtStatus *lora_add(OrtKernelContext *context, const LoraUpdate *u);

/* Each op file's: its ops, defined. */
void define_multi_lora(OrtCustomOp *fp32, OrtCustomOp *fp16);
void define_matmul_q(OrtCustomOp *q8, OrtCustomOp *q4, OrtCustomOp *q8_norm, OrtCustomOp *q4_norm);
void define_attention(OrtCustomOp *fp32, OrtCustomOp *fp16);

#pragma GCC push_options
#pragma GCC target("arch=x86-64-v4")
/* The four sums of a, b, c and d's lanes. */
static inline __attribute__((always_inline)) __m128 sum4_v4(__m512 a, __m512 b, __m512 c, __m512 d) {
    __m512 ab = _mm512_add_ps(_mm512_unpacklo_ps(a, b), _mm512_unpackhi_ps(a, b));
    __m512 cd = _mm512_add_ps(_mm512_unpacklo_ps(c, d), _mm512_unpackhi_ps(c, d));
    __m512 abcd = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(ab), _mm512_castps_pd(cd))),
                                _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(ab), _mm512_castps_pd(cd))));
    __m128 s = _mm_add_ps(_mm512_castps512_ps128(abcd), _mm512_extractf32x4_ps(abcd, 1));
    return _mm_add_ps(s, _mm_add_ps(_mm512_extractf32x4_ps(abcd, 2), _mm512_extractf32x4_ps(abcd, 3)));
}

/*
 * e^x for x <= 0 (attention's scores minus their maximum, SwiGLU's -|x|): x = n ln 2 + r, |r| <= ln 2 / 2, a degree-6
 * polynomial in r.
 */
static inline __attribute__((always_inline)) __m512 exp16_v4(__m512 x) {
    x = _mm512_max_ps(x, _mm512_set1_ps(-87.0f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.0f / 720);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}

#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("arch=x86-64-v3")
/* The four sums of a, b, c and d's lanes. */
static inline __attribute__((always_inline)) __m128 sum4_v3(__m256 a, __m256 b, __m256 c, __m256 d) {
    __m256 abcd = _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, d));
    return _mm_add_ps(_mm256_castps256_ps128(abcd), _mm256_extractf128_ps(abcd, 1));
}

/* exp16_v4 for AVX2: the same polynomial, 2^n built in the exponent bits (n >= -126 for x >= -87, a normal float). */
static inline __attribute__((always_inline)) __m256 exp8_v3(__m256 x) {
    x = _mm256_max_ps(x, _mm256_set1_ps(-87.0f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.0f / 720);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    __m256i scale = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(scale));
}
#pragma GCC pop_options

#endif
