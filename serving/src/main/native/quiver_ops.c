/*
 * Quiver's ONNX Runtime custom ops (CPU), loaded with SessionOptions.registerCustomOpLibrary.
 *
 * dev.quiver:MultiLora (fp32 pools) and MultiLoraFp16 (fp16 pools) — a linear layer's output plus one LoRA update per token row, as MultiLoraBranch's
 * three ops compute it, y = base + ((x @ a^T) * mask) @ b, with x [tokens, in], base [tokens, out], a [width, in],
 * b [width, out] (a run of adapter slots of `rank` rows each) and mask [tokens, width]. Rather than multiplying
 * every row against every bound slot (and packing each pool slice on every call, as MatMul does), it multiplies
 * each row only against the slots its mask selects, slot by slot so that a slot's rows of a and b are read from
 * memory once per call and then from cache for every row that uses it (Punica's BGMV, S-LoRA). Slot blocks whose
 * mask is zero for a row cost nothing; a step with no slot bound (width 0) is the base output, in place.
 *
 * dev.quiver:MatMulQ8 — an int8 block-quantized linear layer (below); dev.quiver:Attention — the decoder's
 * attention over its KV cache, in place of GroupQueryAttention (below).
 *
 * Built against the C API of ONNX Runtime's headers (API version ORT_API_VERSION of those headers); a newer
 * runtime serves an older API version, so the library runs on the runtime the serving module depends on.
 */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <immintrin.h>

#include "onnxruntime_c_api.h"

static const OrtApi *api;

/* ---- the arithmetic ---- */

/* 16 floats, loaded from and stored to any float address; 16 fp16 bit patterns, from any half's address */
typedef float v16 __attribute__((vector_size(64), aligned(4)));
typedef uint16_t v16h __attribute__((vector_size(32), aligned(2)));
typedef uint32_t v16w __attribute__((vector_size(64)));

/* fp16 bits to float, exact for every finite half: see halves16_generic. */
static inline __attribute__((always_inline)) float half1(uint16_t h) {
    uint32_t bits = (uint32_t) (h & 0x7fff) << 13;
    float magnitude;
    memcpy(&magnitude, &bits, sizeof magnitude);
    magnitude *= 0x1p112f;
    return (h & 0x8000) ? -magnitude : magnitude;
}

/* Pools hold fp32 or fp16 values (`half`, a constant in every instantiation): one of them, element i's address. */
static inline __attribute__((always_inline)) float load1(const void *p, int64_t i, const int half) {
    return half ? half1(((const uint16_t *) p)[i]) : ((const float *) p)[i];
}

static inline __attribute__((always_inline)) const void *at(const void *p, int64_t i, const int half) {
    return (const char *) p + i * (half ? 2 : 4);
}

/*
 * How far ahead of its reads (in floats: 2 KiB) a pool stream asks for its next cache lines; one thread's
 * hardware prefetch alone kept a step's pool reads near 23 GB/s.
 */
#define PREFETCH 512

/* Rows multiplied together: each load of a pool row serves this many token rows. */
#define ROWS 4

/* lora_kernels.h's names for the instruction set ISA: K(shrink) is shrink_v4 under ISA v4 */
#define K(name) K_(name, ISA)
#define K_(name, isa) K__(name, isa)
#define K__(name, isa) name##_##isa

/*
 * A kernel for a constant row count n of 1 .. ROWS and pool type, so that its loops over rows unroll and the
 * type's loads are chosen at compile time.
 */
#define BY_ROWS(call, half)                \
    switch (n) {                           \
        case 1: call(1, half); break;      \
        case 2: call(2, half); break;      \
        case 3: call(3, half); break;      \
        default: call(4, half); break;     \
    }
#define BY_TYPE(call) \
    if (half) {                            \
        BY_ROWS(call, 1)                   \
    } else {                               \
        BY_ROWS(call, 0)                   \
    }


/*
 * The kernels are compiled three times and picked per node (kernels_for): for x86-64-v4
 * (AVX-512), v3 (AVX2, FMA, F16C) and baseline x86-64. fp16 pools convert with vcvtph2ps on v4 and v3.
 */
#pragma GCC push_options
#pragma GCC target("arch=x86-64-v4")
static inline __attribute__((always_inline)) v16 halves16_v4(const uint16_t *p) {
    return (v16) _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *) p));
}
#define ISA v4
#define HALVES16 halves16_v4
#include "lora_kernels.h"
#undef HALVES16
#undef ISA
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("arch=x86-64-v3")
static inline __attribute__((always_inline)) v16 halves16_v3(const uint16_t *p) {
    typedef float v8 __attribute__((vector_size(32)));
    v8 low = (v8) _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) p));
    v8 high = (v8) _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) (p + 8)));
    return __builtin_shufflevector(low, high, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
}
#define ISA v3
#define HALVES16 halves16_v3
#include "lora_kernels.h"
#undef HALVES16
#undef ISA
#pragma GCC pop_options

/*
 * Without F16C: the magnitude's bits shifted into float's places read 2^-112 of the value, subnormals included,
 * so one multiply by 2^112 restores it; pools hold no infinities or NaNs (LoraPools refuses them).
 */
static inline __attribute__((always_inline)) v16 halves16_generic(const uint16_t *p) {
    v16w w = __builtin_convertvector(*(const v16h *) p, v16w);
    v16 magnitude = (v16) ((w & 0x7fff) << 13) * 0x1p112f;
    return (v16) ((v16w) magnitude | ((w & 0x8000) << 16));
}
#define ISA generic
#define HALVES16 halves16_generic
#include "lora_kernels.h"
#undef HALVES16
#undef ISA

/* One instruction set's kernels. */
typedef struct {
    void (*shrink)(const float *const x[ROWS], const float *const m[ROWS], int n, const void *a, int64_t rank,
                   int64_t in, float *h, int half);
    void (*expand)(float *const y[ROWS], int n, const float *h, const void *b, int64_t rank, int64_t out,
                   int64_t from, int64_t to, int half);
    void (*stream)(float *const y[ROWS], int n, const float *h, const void *b, int64_t rank, int64_t out,
                   int64_t from, int64_t to, int half);
} Kernels;

static const Kernels V4 = {shrink_v4, expand_v4, stream_v4};
static const Kernels V3 = {shrink_v3, expand_v3, stream_v3};
static const Kernels GENERIC = {shrink_generic, expand_generic, stream_generic};

/*
 * The kernels for a node's optional attribute isa: "v4", "v3" or "generic" (tests run each set this way), or
 * when it is absent, the best set this CPU runs; NULL when the CPU lacks the set asked for.
 */
static const Kernels *kernels_for(const char *isa) {
    __builtin_cpu_init();
    int v4 = __builtin_cpu_supports("x86-64-v4"), v3 = __builtin_cpu_supports("x86-64-v3");
    if (isa == NULL) {
        return v4 ? &V4 : v3 ? &V3 : &GENERIC;
    }
    if (strcmp(isa, "v4") == 0) {
        return v4 ? &V4 : NULL;
    }
    if (strcmp(isa, "v3") == 0) {
        return v3 ? &V3 : NULL;
    }
    return strcmp(isa, "generic") == 0 ? &GENERIC : NULL;
}

/* One call's operands, and the token rows of each slot its mask selects. */
typedef struct {
    const float *x, *mask;
    const void *a, *b; /* fp32, or fp16 when half */
    float *y;
    int half;
    const Kernels *kernels;
    int64_t *rows;   /* the selected rows, slot by slot */
    int64_t *start;  /* slot s's rows are rows[start[s]] .. rows[start[s + 1] - 1] */
    int64_t tokens, in, out, width, rank, slots;
    int64_t parts;   /* output column ranges per slot, one task each */
} Call;

/* Task i: slot i / parts, output columns of part i % parts, all of that slot's rows, ROWS at a time. */
static void slot_task(void *data, size_t i) {
    Call *c = data;
    int64_t s = (int64_t) i / c->parts, part = (int64_t) i % c->parts;
    int64_t from = (c->out * part / c->parts) / 16 * 16;
    int64_t to = part + 1 == c->parts ? c->out : (c->out * (part + 1) / c->parts) / 16 * 16;
    const void *a = at(c->a, s * c->rank * c->in, c->half), *b = at(c->b, s * c->rank * c->out, c->half);
    float h[ROWS * c->rank];
    for (int64_t p = c->start[s]; p < c->start[s + 1]; p += ROWS) {
        int n = c->start[s + 1] - p < ROWS ? (int) (c->start[s + 1] - p) : ROWS;
        const float *x[ROWS], *m[ROWS];
        float *y[ROWS];
        for (int j = 0; j < ROWS; j++) {
            int64_t t = c->rows[p + (j < n ? j : 0)];
            x[j] = c->x + t * c->in;
            m[j] = c->mask + t * c->width + s * c->rank;
            y[j] = c->y + t * c->out;
        }
        c->kernels->shrink(x, m, n, a, c->rank, c->in, h, c->half);
        if (p == c->start[s]) {
            c->kernels->stream(y, n, h, b, c->rank, c->out, from, to, c->half); /* b's first read: from memory */
        } else {
            c->kernels->expand(y, n, h, b, c->rank, c->out, from, to, c->half);
        }
    }
}

/*
 * ---- dev.quiver:MatMulQ8 — y = x @ W^T for an int8 block-quantized W, as MatMulNBits (bits 8, accuracy
 * level 4) computes it, but from W's rows in groups of four: codes [n / 4, blocks, 4, bs] and scales
 * [n / 4, blocks, 4] (BlockQuantizer.RowGroups). A kernel computing four outputs then reads one stream of
 * consecutive bytes, which at batch 1 streams the weight faster than four rows apart; MatMulNBits at batch 1 also
 * costs a fixed time per call on top of its weight read. ----
 */

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

#pragma GCC pop_options

/* One MatMulQ8 call: y [m, n] = a [m, k] @ W^T, W's codes b and scales in row groups. */
typedef struct {
    const float *a;
    const uint8_t *b;
    const float *scales;
    float *y;
    int64_t m, k, n, bs, blocks;
    int8_t *aq;     /* the activations' codes, [m, blocks * bs], zero past k */
    float *as;      /* their scales, [m, blocks] */
    int32_t *corr;  /* -128 x their sums per vpdpbusd lane, [m, blocks, 16] (the VNNI kernels only) */
    int vnni;       /* AVX-512 VNNI kernels, else the portable ones */
    int64_t columns; /* output columns per task */
} Q8Call;

#pragma GCC push_options
#pragma GCC target("arch=x86-64-v4,avx512vnni")
#include "q8_kernels.h"
#pragma GCC pop_options

/* The portable kernels: the same codes and scales (rintf rounds to nearest even, as vcvtps2dq does). */
static void q8_quantize_row_generic(const float *x, int64_t k, int64_t bs, int64_t blocks, int8_t *q, float *s) {
    for (int64_t b = 0; b < blocks; b++) {
        int64_t from = b * bs, len = k - from < bs ? k - from : bs;
        float amax = 0;
        for (int64_t j = 0; j < len; j++) {
            float v = x[from + j] < 0 ? -x[from + j] : x[from + j];
            amax = v > amax ? v : amax;
        }
        s[b] = amax / 127.0f;
        float inverse = amax > 0 ? 127.0f / amax : 0.0f;
        for (int64_t j = 0; j < bs; j++) {
            q[from + j] = (int8_t) (j < len ? rintf(x[from + j] * inverse) : 0);
        }
    }
}

static void q8_columns_generic(const Q8Call *c, int64_t from, int64_t to) {
    const int64_t row = c->blocks * c->bs;
    for (int64_t m = 0; m < c->m; m++) {
        for (int64_t n = from; n < to; n++) {
            float sum = 0;
            for (int64_t blk = 0; blk < c->blocks; blk++) {
                int64_t at = (n / 4 * c->blocks + blk) * 4 + n % 4; /* this row's block in its group */
                const uint8_t *w = c->b + at * c->bs;
                const int8_t *x = c->aq + m * row + blk * c->bs;
                int32_t d = 0;
                for (int64_t j = 0; j < c->bs; j++) {
                    d += ((int32_t) w[j] - 128) * x[j];
                }
                sum += (float) d * (c->as[m * c->blocks + blk] * c->scales[at]);
            }
            c->y[m * c->n + n] = sum;
        }
    }
}

/* Task i: output columns [i * columns, (i + 1) * columns), whole row groups. */
static void q8_task(void *data, size_t i) {
    const Q8Call *c = data;
    int64_t from = (int64_t) i * c->columns, to = from + c->columns < c->n ? from + c->columns : c->n;
    if (c->vnni) {
        q8_columns_vnni(c, from, to);
    } else {
        q8_columns_generic(c, from, to);
    }
}

typedef struct {
    int64_t k, n, bs;
    int vnni;
} Q8Kernel;

/*
 * ---- dev.quiver:Attention — com.microsoft:GroupQueryAttention as the decoder uses it (do_rotary, rotary not
 * interleaved, no padding: row r's new tokens follow seqlens_k[r] + 1 - s cached positions), with the KV cache
 * bound to the same memory as past and present. ONNX Runtime's CPU kernel spends some 70 us per layer on a batch-1
 * decode step over 128 cached positions (DecodeProfile); this one reads each cached key and value once per KV
 * head for all the query heads that share it. ----
 */

/* Query rows, (token, head) pairs of one KV head, that share each load of a cached key and value. */
#define ATTN_TILE 4

typedef struct {
    const float *q, *k, *v, *past_key, *past_value, *cos, *sin;
    float *out, *present_key, *present_value;
    int64_t *past;          /* cached positions of each row */
    int64_t rows, new_tokens, heads, kv_heads, head_dim, max_len;
    float scale;
    int copy_past;          /* present is not past's memory: copy the cached positions first */
    float *scratch;         /* per task: rotated queries [ATTN_TILE, head_dim], scores [ATTN_TILE, max_len] */
    int64_t scratch_per_task;
    int v4;
} AttnCall;

#pragma GCC push_options
#pragma GCC target("arch=x86-64-v4")
#define ATTN_V4
#include "attention_kernels.h"
#undef ATTN_V4
#pragma GCC pop_options
#include "attention_kernels.h"

/* Task i: batch row i / kv_heads, KV head i % kv_heads. */
static void attn_task(void *data, size_t i) {
    const AttnCall *c = data;
    int64_t row = (int64_t) i / c->kv_heads, kvh = (int64_t) i % c->kv_heads;
    if (c->v4) {
        attend_head_v4(c, row, kvh);
    } else {
        attend_head_generic(c, row, kvh);
    }
}

typedef struct {
    int64_t heads, kv_heads;
    float scale;
    int v4;
} AttnKernel;

/* ---- the op ---- */

typedef struct {
    int64_t rank;
    int half; /* MultiLoraFp16: the pools a and b hold fp16 */
    const Kernels *kernels;
} Kernel;

#define CHECK(expr)                            \
    do {                                       \
        OrtStatus *status_ = (expr);           \
        if (status_ != NULL) return status_;   \
    } while (0)

static OrtStatus *fail(const char *message) {
    return api->CreateStatus(ORT_INVALID_ARGUMENT, message);
}

/* The dimensions of input i, at most 2 of them. */
static OrtStatus *dims(OrtKernelContext *context, size_t i, const OrtValue **value, int64_t shape[2],
                       size_t *count) {
    CHECK(api->KernelContext_GetInput(context, i, value));
    OrtTensorTypeAndShapeInfo *info;
    CHECK(api->GetTensorTypeAndShape(*value, &info));
    OrtStatus *status = api->GetDimensionsCount(info, count);
    if (status == NULL && *count > 2) {
        status = fail("MultiLora: inputs must be matrices");
    }
    if (status == NULL) {
        status = api->GetDimensions(info, shape, *count);
    }
    api->ReleaseTensorTypeAndShapeInfo(info);
    return status;
}

/* A read-only input's elements (the C API of these headers has only the mutable accessor). */
static OrtStatus *data(const OrtValue *value, const void **out) {
    return api->GetTensorMutableData((OrtValue *) value, (void **) out);
}

/* Tasks 0 .. tasks - 1 of fn: on ONNX Runtime's threads when parallel, else one after another on this one. */
static OrtStatus *run_tasks(OrtKernelContext *context, void (*fn)(void *, size_t), void *arg, size_t tasks,
                            int parallel) {
    if (parallel) {
        return api->KernelContext_ParallelFor(context, fn, tasks, 0, arg);
    }
    for (size_t i = 0; i < tasks; i++) {
        fn(arg, i);
    }
    return NULL;
}

/*
 * The node's optional attribute isa (tests pick a kernel set with it) into isa: 1 when it is there, 0 when it is
 * absent (or too long for any set's name).
 */
static int isa_attribute(const OrtKernelInfo *info, char isa[16]) {
    size_t size = 16;
    OrtStatus *absent = api->KernelInfoGetAttribute_string(info, "isa", isa, &size);
    if (absent != NULL) {
        api->ReleaseStatus(absent);
        return 0;
    }
    return 1;
}

static OrtStatus *ORT_API_CALL compute(void *op_kernel, OrtKernelContext *context) {
    Kernel *k = op_kernel;
    const OrtValue *vx, *vbase, *va, *vb, *vmask;
    int64_t sx[2], sbase[2], sa[2], sb[2], smask[2];
    size_t nx, nbase, na, nb, nmask;
    CHECK(dims(context, 0, &vx, sx, &nx));
    CHECK(dims(context, 1, &vbase, sbase, &nbase));
    CHECK(dims(context, 2, &va, sa, &na));
    CHECK(dims(context, 3, &vb, sb, &nb));
    CHECK(dims(context, 4, &vmask, smask, &nmask));
    if (nx != 2 || nbase != 2 || na != 2 || nb != 2 || nmask != 2) {
        return fail("MultiLora: x, base, a, b and mask must be matrices");
    }
    int64_t tokens = sx[0], in = sx[1], out = sbase[1], width = sa[0];
    if (sbase[0] != tokens || sa[1] != in || sb[0] != width || sb[1] != out || smask[0] != tokens
        || smask[1] != width || width % k->rank != 0) {
        return fail("MultiLora: shapes must be x [t, in], base [t, out], a [w, in], b [w, out], mask [t, w],"
                    " w a multiple of rank");
    }
    OrtValue *vy;
    CHECK(api->KernelContext_GetOutput(context, 0, sbase, 2, &vy));
    const void *base;
    float *y;
    CHECK(data(vbase, &base));
    CHECK(api->GetTensorMutableData(vy, (void **) &y));
    if (y != base && tokens * out > 0) {
        memcpy(y, base, (size_t) (tokens * out) * sizeof(float));
    }
    if (width == 0 || tokens == 0) {
        return NULL;
    }
    Call c = {.tokens = tokens, .in = in, .out = out, .width = width, .rank = k->rank, .slots = width / k->rank,
              .half = k->half, .kernels = k->kernels};
    c.y = y;
    CHECK(data(vx, (const void **) &c.x));
    CHECK(data(va, &c.a));
    CHECK(data(vb, &c.b));
    CHECK(data(vmask, (const void **) &c.mask));
    c.rows = malloc((size_t) (tokens * c.slots) * sizeof(int64_t));
    c.start = malloc((size_t) (c.slots + 1) * sizeof(int64_t));
    if (c.rows == NULL || c.start == NULL) {
        free(c.rows);
        free(c.start);
        return api->CreateStatus(ORT_FAIL, "MultiLora: out of memory");
    }
    /* the rows each slot's mask selects, slot by slot; and whether a row is on two slots or more */
    uint8_t *seen = calloc((size_t) tokens, 1);
    if (seen == NULL) {
        free(c.rows);
        free(c.start);
        return api->CreateStatus(ORT_FAIL, "MultiLora: out of memory");
    }
    int64_t selected = 0, busy = 0;
    int shared = 0;
    for (int64_t s = 0; s < c.slots; s++) {
        c.start[s] = selected;
        for (int64_t t = 0; t < tokens; t++) {
            const float *m = c.mask + t * width + s * c.rank;
            for (int64_t r = 0; r < c.rank; r++) {
                if (m[r] != 0.0f) {
                    c.rows[selected++] = t;
                    shared |= seen[t]++;
                    break;
                }
            }
        }
        busy += selected > c.start[s];
    }
    free(seen);
    c.start[c.slots] = selected;
    /*
     * One task per slot, on ONNX Runtime's threads when there is enough work to pay for waking them (measured
     * on 2 cores: a batch-1 or batch-8 step on one adapter runs faster on the calling thread alone): two busy
     * slots or more, or a lone slot with 16 rows or more, whose output columns then split in two tasks. A row
     * on several slots would be written by several tasks at once, so then they run one after another.
     */
    int parallel = !shared && (busy >= 2 || (busy == 1 && selected >= 16));
    c.parts = parallel && busy == 1 ? 2 : 1;
    size_t tasks = (size_t) (c.slots * c.parts);
    OrtStatus *status = parallel || selected > 0 ? run_tasks(context, slot_task, &c, tasks, parallel) : NULL;
    free(c.rows);
    free(c.start);
    return status;
}

static OrtCustomOp multi_lora, multi_lora_fp16, matmul_q8, attention;

/* Weights of at least this many bytes are split over ONNX Runtime's threads at every row count. */
#define Q8_PARALLEL_BYTES (256 * 1024)
#define Q8_TASK_BYTES (1024 * 1024)

static OrtStatus *ORT_API_CALL q8_compute(void *op_kernel, OrtKernelContext *context) {
    const Q8Kernel *k = op_kernel;
    const OrtValue *va, *vb, *vs;
    CHECK(api->KernelContext_GetInput(context, 0, &va));
    CHECK(api->KernelContext_GetInput(context, 1, &vb));
    CHECK(api->KernelContext_GetInput(context, 2, &vs));
    int64_t shape[8];
    size_t rank;
    OrtTensorTypeAndShapeInfo *info;
    CHECK(api->GetTensorTypeAndShape(va, &info));
    OrtStatus *status = api->GetDimensionsCount(info, &rank);
    if (status == NULL && (rank < 1 || rank > 8)) {
        status = fail("MatMulQ8: input A must have 1 to 8 dimensions");
    }
    if (status == NULL) {
        status = api->GetDimensions(info, shape, rank);
    }
    api->ReleaseTensorTypeAndShapeInfo(info);
    CHECK(status);
    if (shape[rank - 1] != k->k) {
        return fail("MatMulQ8: A's last dimension must be the attribute K");
    }
    int64_t blocks = (k->k + k->bs - 1) / k->bs;
    size_t b_count, s_count;
    CHECK(api->GetTensorTypeAndShape(vb, &info));
    status = api->GetTensorShapeElementCount(info, &b_count);
    api->ReleaseTensorTypeAndShapeInfo(info);
    CHECK(status);
    CHECK(api->GetTensorTypeAndShape(vs, &info));
    status = api->GetTensorShapeElementCount(info, &s_count);
    api->ReleaseTensorTypeAndShapeInfo(info);
    CHECK(status);
    if ((int64_t) b_count != k->n * blocks * k->bs || (int64_t) s_count != k->n * blocks) {
        return fail("MatMulQ8: B must hold N x ceil(K / block_size) x block_size codes and scales"
                    " N x ceil(K / block_size) values");
    }
    int64_t m = 1;
    for (size_t d = 0; d + 1 < rank; d++) {
        m *= shape[d];
    }
    shape[rank - 1] = k->n;
    OrtValue *vy;
    CHECK(api->KernelContext_GetOutput(context, 0, shape, rank, &vy));
    Q8Call c = {.m = m, .k = k->k, .n = k->n, .bs = k->bs, .blocks = blocks, .vnni = k->vnni};
    CHECK(api->GetTensorMutableData(vy, (void **) &c.y));
    CHECK(data(va, (const void **) &c.a));
    CHECK(data(vb, (const void **) &c.b));
    CHECK(data(vs, (const void **) &c.scales));
    if (m == 0) {
        return NULL;
    }
    int64_t row = blocks * k->bs;
    c.aq = malloc((size_t) (m * row));
    c.as = malloc((size_t) (m * blocks) * sizeof(float));
    c.corr = k->vnni ? malloc((size_t) (m * blocks * 16) * sizeof(int32_t)) : NULL;
    if (c.aq == NULL || c.as == NULL || (k->vnni && c.corr == NULL)) {
        free(c.aq);
        free(c.as);
        free(c.corr);
        return api->CreateStatus(ORT_FAIL, "MatMulQ8: out of memory");
    }
    for (int64_t i = 0; i < m; i++) {
        if (k->vnni) {
            q8_quantize_row_vnni(c.a + i * k->k, k->k, k->bs, blocks, c.aq + i * row, c.as + i * blocks,
                                 c.corr + i * blocks * 16);
        } else {
            q8_quantize_row_generic(c.a + i * k->k, k->k, k->bs, blocks, c.aq + i * row, c.as + i * blocks);
        }
    }
    /*
     * Tasks of at most about Q8_TASK_BYTES of weight each (whole 16-column groups), so that a thread streams long
     * runs of consecutive bytes.
     */
    c.columns = (Q8_TASK_BYTES / row) / 16 * 16;
    int64_t sixteenth = (k->n / 16 + 15) / 16 * 16; /* and at least 16 tasks, so that the threads end together */
    c.columns = c.columns > sixteenth ? sixteenth : c.columns;
    c.columns = c.columns < 16 ? 16 : c.columns;
    size_t tasks = (size_t) ((k->n + c.columns - 1) / c.columns);
    status = run_tasks(context, q8_task, &c, tasks, k->n * row >= Q8_PARALLEL_BYTES || m >= 16);
    free(c.aq);
    free(c.as);
    free(c.corr);
    return status;
}

static OrtStatus *ORT_API_CALL q8_create_kernel(const OrtCustomOp *op, const OrtApi *ort,
                                                const OrtKernelInfo *info, void **kernel) {
    (void) op;
    (void) ort;
    int64_t k, n, bs, bits;
    CHECK(api->KernelInfoGetAttribute_int64(info, "K", &k));
    CHECK(api->KernelInfoGetAttribute_int64(info, "N", &n));
    CHECK(api->KernelInfoGetAttribute_int64(info, "block_size", &bs));
    CHECK(api->KernelInfoGetAttribute_int64(info, "bits", &bits));
    if (bits != 8 || k <= 0 || n <= 0 || n % 4 != 0 || bs < 16 || (bs & (bs - 1)) != 0) {
        return fail("MatMulQ8: needs bits 8, positive K, N a multiple of 4, and block_size a power of 2 of at"
                    " least 16");
    }
    char isa[16];
    int chosen = isa_attribute(info, isa);
    __builtin_cpu_init();
    int has_vnni = __builtin_cpu_supports("x86-64-v4") && __builtin_cpu_supports("avx512vnni");
    int vnni = has_vnni && (bs == 64 || bs == 128);
    if (chosen) {
        if (strcmp(isa, "vnni") == 0 && vnni) {
            vnni = 1;
        } else if (strcmp(isa, "generic") == 0) {
            vnni = 0;
        } else {
            return fail("MatMulQ8: attribute isa must be vnni (on a CPU with AVX-512 VNNI, blocks of 64 or 128)"
                        " or generic");
        }
    }
    Q8Kernel *q = malloc(sizeof(Q8Kernel));
    if (q == NULL) {
        return api->CreateStatus(ORT_FAIL, "MatMulQ8: out of memory");
    }
    *q = (Q8Kernel) {.k = k, .n = n, .bs = bs, .vnni = vnni};
    *kernel = q;
    return NULL;
}

static OrtStatus *infer_from(OrtShapeInferContext *context, size_t input, size_t output, int64_t last);

/* A's shape with its last dimension N */
static OrtStatus *ORT_API_CALL q8_infer_shape(const OrtCustomOp *op, OrtShapeInferContext *context) {
    (void) op;
    const OrtOpAttr *attr;
    CHECK(api->ShapeInferContext_GetAttribute(context, "N", &attr));
    int64_t n;
    size_t size;
    CHECK(api->ReadOpAttr(attr, ORT_OP_ATTR_INT, &n, sizeof n, &size));
    return infer_from(context, 0, 0, n);
}


static OrtStatus *ORT_API_CALL create_kernel(const OrtCustomOp *op, const OrtApi *ort, const OrtKernelInfo *info,
                                             void **kernel) {
    (void) ort;
    int64_t rank;
    CHECK(api->KernelInfoGetAttribute_int64(info, "rank", &rank));
    if (rank <= 0 || rank > 4096) {
        return fail("MultiLora: attribute rank must be between 1 and 4096");
    }
    char isa[16];
    const Kernels *kernels = kernels_for(isa_attribute(info, isa) ? isa : NULL);
    if (kernels == NULL) {
        return fail("MultiLora: attribute isa must be v4, v3 or generic, and one this CPU runs");
    }
    Kernel *k = malloc(sizeof(Kernel));
    if (k == NULL) {
        return api->CreateStatus(ORT_FAIL, "MultiLora: out of memory");
    }
    k->rank = rank;
    k->half = op == &multi_lora_fp16;
    k->kernels = kernels;
    *kernel = k;
    return NULL;
}

static void ORT_API_CALL destroy_kernel(void *kernel) {
    free(kernel);
}

static OrtStatus *ORT_API_CALL infer_shape(const OrtCustomOp *op, OrtShapeInferContext *context) {
    (void) op;
    OrtTensorTypeAndShapeInfo *info; /* the context's own: not released here */
    CHECK(api->ShapeInferContext_GetInputTypeShape(context, 1, &info));
    return api->ShapeInferContext_SetOutputTypeShape(context, 0, info);
}

/* Input i's dimensions, exactly `count` of them. */
static OrtStatus *shape_of(OrtKernelContext *context, size_t i, size_t count, const OrtValue **value,
                           int64_t *shape) {
    CHECK(api->KernelContext_GetInput(context, i, value));
    OrtTensorTypeAndShapeInfo *info;
    CHECK(api->GetTensorTypeAndShape(*value, &info));
    size_t n;
    OrtStatus *status = api->GetDimensionsCount(info, &n);
    if (status == NULL && n != count) {
        status = fail("Attention: q, k, v [batch, seq, heads x head_dim], past key and value [batch, kv_heads,"
                      " max_len, head_dim], seqlens_k [batch], total_sequence_length [] and cos, sin [positions,"
                      " head_dim / 2] have the wrong number of dimensions");
    }
    if (status == NULL) {
        status = api->GetDimensions(info, shape, n);
    }
    api->ReleaseTensorTypeAndShapeInfo(info);
    return status;
}

/* Work below which a call runs on the calling thread: query heads x positions x head_dim multiply-adds. */
#define ATTN_PARALLEL_WORK (1 << 18)

static OrtStatus *ORT_API_CALL attn_compute(void *op_kernel, OrtKernelContext *context) {
    const AttnKernel *k = op_kernel;
    const OrtValue *vq, *vk, *vv, *vpk, *vpv, *vseq, *vcos, *vsin;
    int64_t sq[3], sk[3], sv[3], spk[4], spv[4], sseq[1], scos[2], ssin[2];
    CHECK(shape_of(context, 0, 3, &vq, sq));
    CHECK(shape_of(context, 1, 3, &vk, sk));
    CHECK(shape_of(context, 2, 3, &vv, sv));
    CHECK(shape_of(context, 3, 4, &vpk, spk));
    CHECK(shape_of(context, 4, 4, &vpv, spv));
    CHECK(shape_of(context, 5, 1, &vseq, sseq));
    CHECK(shape_of(context, 7, 2, &vcos, scos));
    CHECK(shape_of(context, 8, 2, &vsin, ssin));
    int64_t b = sq[0], s = sq[1], d = spk[3], max_len = spk[2];
    int same = memcmp(spk, spv, sizeof spk) == 0 && memcmp(scos, ssin, sizeof scos) == 0;
    if (!same || sk[0] != b || sv[0] != b || sk[1] != s || sv[1] != s || spk[0] != b || spk[1] != k->kv_heads
        || sq[2] != k->heads * d || sk[2] != k->kv_heads * d || sv[2] != k->kv_heads * d || sseq[0] != b
        || d % 2 != 0 || scos[1] != d / 2) {
        return fail("Attention: shapes must be q [b, s, heads x d], k and v [b, s, kv_heads x d], past key and"
                    " value [b, kv_heads, max_len, d], seqlens_k [b], cos and sin [positions, d / 2]");
    }
    AttnCall c = {.rows = b, .new_tokens = s, .heads = k->heads, .kv_heads = k->kv_heads, .head_dim = d,
                  .max_len = max_len, .scale = k->scale, .v4 = k->v4 && d % 16 == 0};
    int64_t shape[4] = {b, s, k->heads * d, 0};
    OrtValue *vout, *vpresent_key, *vpresent_value;
    CHECK(api->KernelContext_GetOutput(context, 0, shape, 3, &vout));
    CHECK(api->KernelContext_GetOutput(context, 1, spk, 4, &vpresent_key));
    CHECK(api->KernelContext_GetOutput(context, 2, spv, 4, &vpresent_value));
    const int32_t *seqlens;
    CHECK(data(vq, (const void **) &c.q));
    CHECK(data(vk, (const void **) &c.k));
    CHECK(data(vv, (const void **) &c.v));
    CHECK(data(vpk, (const void **) &c.past_key));
    CHECK(data(vpv, (const void **) &c.past_value));
    CHECK(data(vseq, (const void **) &seqlens));
    CHECK(data(vcos, (const void **) &c.cos));
    CHECK(data(vsin, (const void **) &c.sin));
    CHECK(api->GetTensorMutableData(vout, (void **) &c.out));
    CHECK(api->GetTensorMutableData(vpresent_key, (void **) &c.present_key));
    CHECK(api->GetTensorMutableData(vpresent_value, (void **) &c.present_value));
    c.copy_past = c.present_key != c.past_key || c.present_value != c.past_value;
    if (b == 0 || s == 0) {
        return NULL;
    }
    c.past = malloc((size_t) b * sizeof(int64_t));
    if (c.past == NULL) {
        return api->CreateStatus(ORT_FAIL, "Attention: out of memory");
    }
    int64_t work = 0;
    for (int64_t r = 0; r < b; r++) {
        c.past[r] = (int64_t) seqlens[r] + 1 - s;
        if (c.past[r] < 0 || c.past[r] + s > max_len || c.past[r] + s > scos[0]) {
            free(c.past);
            return fail("Attention: seqlens_k[r] + 1 must be at least the new tokens and at most max_len and"
                        " the cos and sin positions");
        }
        work += s * (c.past[r] + s) * k->heads * d;
    }
    c.scratch_per_task = ATTN_TILE * (d + max_len);
    size_t tasks = (size_t) (b * k->kv_heads);
    c.scratch = malloc(tasks * (size_t) c.scratch_per_task * sizeof(float));
    if (c.scratch == NULL) {
        free(c.past);
        return api->CreateStatus(ORT_FAIL, "Attention: out of memory");
    }
    OrtStatus *status = run_tasks(context, attn_task, &c, tasks, tasks >= 2 && work >= ATTN_PARALLEL_WORK);
    free(c.past);
    free(c.scratch);
    return status;
}

static OrtStatus *ORT_API_CALL attn_create_kernel(const OrtCustomOp *op, const OrtApi *ort,
                                                  const OrtKernelInfo *info, void **kernel) {
    (void) op;
    (void) ort;
    int64_t heads, kv_heads;
    float scale;
    CHECK(api->KernelInfoGetAttribute_int64(info, "num_heads", &heads));
    CHECK(api->KernelInfoGetAttribute_int64(info, "kv_num_heads", &kv_heads));
    CHECK(api->KernelInfoGetAttribute_float(info, "scale", &scale));
    if (heads <= 0 || kv_heads <= 0 || heads % kv_heads != 0) {
        return fail("Attention: num_heads must be a positive multiple of kv_num_heads");
    }
    char isa[16];
    int chosen = isa_attribute(info, isa);
    __builtin_cpu_init();
    int v4 = __builtin_cpu_supports("x86-64-v4");
    if (chosen) {
        if (strcmp(isa, "generic") == 0) {
            v4 = 0;
        } else if (strcmp(isa, "v4") != 0 || !v4) {
            return fail("Attention: attribute isa must be v4 (on a CPU with AVX-512) or generic");
        }
    }
    AttnKernel *a = malloc(sizeof(AttnKernel));
    if (a == NULL) {
        return api->CreateStatus(ORT_FAIL, "Attention: out of memory");
    }
    *a = (AttnKernel) {.heads = heads, .kv_heads = kv_heads, .scale = scale, .v4 = v4};
    *kernel = a;
    return NULL;
}

/*
 * Output `output` typed float with input `input`'s dimensions (at most 8; the last set to `last` when it is not
 * negative), in an info of its own: the context hands out one info for every input it is asked about.
 */
static OrtStatus *infer_from(OrtShapeInferContext *context, size_t input, size_t output, int64_t last) {
    OrtTensorTypeAndShapeInfo *info; /* the context's own: not released here */
    CHECK(api->ShapeInferContext_GetInputTypeShape(context, input, &info));
    size_t rank;
    CHECK(api->GetDimensionsCount(info, &rank));
    if (rank < 1 || rank > 8) {
        return fail("Quiver ops: inputs must have 1 to 8 dimensions");
    }
    int64_t shape[8];
    const char *symbols[8];
    CHECK(api->GetDimensions(info, shape, rank));
    CHECK(api->GetSymbolicDimensions(info, symbols, rank));
    if (last >= 0) {
        shape[rank - 1] = last;
        symbols[rank - 1] = "";
    }
    OrtTensorTypeAndShapeInfo *out;
    CHECK(api->CreateTensorTypeAndShapeInfo(&out));
    OrtStatus *status = api->SetTensorElementType(out, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT);
    if (status == NULL) {
        status = api->SetDimensions(out, shape, rank);
    }
    if (status == NULL) {
        status = api->SetSymbolicDimensions(out, symbols, rank);
    }
    if (status == NULL) {
        status = api->ShapeInferContext_SetOutputTypeShape(context, output, out);
    }
    api->ReleaseTensorTypeAndShapeInfo(out);
    return status;
}

/* out has q's shape, num_heads x head_dim wide; present key and value past's */
static OrtStatus *ORT_API_CALL attn_infer_shape(const OrtCustomOp *op, OrtShapeInferContext *context) {
    (void) op;
    const OrtOpAttr *attr;
    CHECK(api->ShapeInferContext_GetAttribute(context, "num_heads", &attr));
    int64_t heads, shape[4];
    size_t size, rank;
    CHECK(api->ReadOpAttr(attr, ORT_OP_ATTR_INT, &heads, sizeof heads, &size));
    OrtTensorTypeAndShapeInfo *info; /* the context's own: not released here */
    CHECK(api->ShapeInferContext_GetInputTypeShape(context, 3, &info));
    CHECK(api->GetDimensionsCount(info, &rank));
    if (rank != 4) {
        return fail("Attention: past key must be [batch, kv_heads, max_len, head_dim]");
    }
    CHECK(api->GetDimensions(info, shape, rank));
    CHECK(infer_from(context, 0, 0, shape[3] < 0 ? -1 : heads * shape[3]));
    CHECK(infer_from(context, 3, 1, -1));
    return infer_from(context, 4, 2, -1);
}

static const char *ORT_API_CALL op_name(const OrtCustomOp *op) {
    if (op == &attention) {
        return "Attention";
    }
    return op == &matmul_q8 ? "MatMulQ8" : op == &multi_lora_fp16 ? "MultiLoraFp16" : "MultiLora";
}

static const char *ORT_API_CALL provider(const OrtCustomOp *op) {
    (void) op;
    return "CPUExecutionProvider";
}

/* inputs x, base, a, b, mask and the output are float, but MultiLoraFp16's pools a and b; MatMulQ8's B is codes */
static ONNXTensorElementDataType ORT_API_CALL input_type(const OrtCustomOp *op, size_t index) {
    if (op == &matmul_q8) {
        return index == 1 ? ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8 : ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
    }
    if (op == &attention) { /* q, k, v, past key, past value, seqlens_k, total_sequence_length, cos, sin */
        return index == 5 || index == 6 ? ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32 : ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
    }
    return op == &multi_lora_fp16 && (index == 2 || index == 3) ? ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16
                                                                 : ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
}

static ONNXTensorElementDataType ORT_API_CALL float_type(const OrtCustomOp *op, size_t index) {
    (void) op;
    (void) index;
    return ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
}

/* MultiLora's x, base, a, b and mask; MatMulQ8's A, B and scales */
static size_t ORT_API_CALL input_count(const OrtCustomOp *op) {
    return op == &attention ? 9 : op == &matmul_q8 ? 3 : 5;
}

/* Attention's output and present key and value; the others' one output */
static size_t ORT_API_CALL output_count(const OrtCustomOp *op) {
    return op == &attention ? 3 : 1;
}

static int ORT_API_CALL first_version(const OrtCustomOp *op) {
    (void) op;
    return 1;
}

static int ORT_API_CALL last_version(const OrtCustomOp *op) {
    (void) op;
    return INT_MAX;
}

static OrtCustomOpInputOutputCharacteristic ORT_API_CALL required(const OrtCustomOp *op, size_t index) {
    (void) op;
    (void) index;
    return INPUT_OUTPUT_REQUIRED;
}

static OrtMemType ORT_API_CALL default_memory(const OrtCustomOp *op, size_t index) {
    (void) op;
    (void) index;
    return OrtMemTypeDefault;
}

static int ORT_API_CALL not_variadic(const OrtCustomOp *op) {
    (void) op;
    return 0;
}

static size_t ORT_API_CALL no_alias(int **input_index, int **output_index) {
    *input_index = NULL;
    *output_index = NULL;
    return 0;
}

/* the output may take the base's buffer */
static size_t ORT_API_CALL may_inplace(int **input_index, int **output_index) {
    *input_index = malloc(sizeof(int));
    *output_index = malloc(sizeof(int));
    if (*input_index == NULL || *output_index == NULL) {
        free(*input_index);
        free(*output_index);
        *input_index = *output_index = NULL;
        return 0;
    }
    **input_index = 1;
    **output_index = 0;
    return 1;
}

static void ORT_API_CALL release_inplace(int *input_index, int *output_index) {
    free(input_index);
    free(output_index);
}

static OrtCustomOpDomain *domain;
static OrtStatus *domain_status;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void define(OrtCustomOp *op) {
    op->version = ORT_API_VERSION;
    op->GetName = op_name;
    op->GetExecutionProviderType = provider;
    op->GetInputType = input_type;
    op->GetInputTypeCount = input_count;
    op->GetOutputType = float_type;
    op->GetOutputTypeCount = output_count;
    op->KernelDestroy = destroy_kernel;
    op->GetInputCharacteristic = required;
    op->GetOutputCharacteristic = required;
    op->GetInputMemoryType = default_memory;
    op->GetVariadicInputMinArity = not_variadic;
    op->GetVariadicInputHomogeneity = not_variadic;
    op->GetVariadicOutputMinArity = not_variadic;
    op->GetVariadicOutputHomogeneity = not_variadic;
    op->CreateKernelV2 = create_kernel;
    op->KernelComputeV2 = compute;
    op->InferOutputShapeFn = infer_shape;
    op->GetStartVersion = first_version;
    op->GetEndVersion = last_version;
    op->GetMayInplace = may_inplace;
    op->ReleaseMayInplace = release_inplace;
    op->GetAliasMap = no_alias;
    op->ReleaseAliasMap = release_inplace;
}

static void create_domain(void) {
    define(&multi_lora);
    define(&multi_lora_fp16);
    define(&matmul_q8);
    matmul_q8.CreateKernelV2 = q8_create_kernel;
    matmul_q8.KernelComputeV2 = q8_compute;
    matmul_q8.InferOutputShapeFn = q8_infer_shape;
    matmul_q8.GetMayInplace = NULL;
    matmul_q8.ReleaseMayInplace = NULL;
    define(&attention);
    attention.CreateKernelV2 = attn_create_kernel;
    attention.KernelComputeV2 = attn_compute;
    attention.InferOutputShapeFn = attn_infer_shape;
    attention.GetMayInplace = NULL;
    attention.ReleaseMayInplace = NULL;
    domain_status = api->CreateCustomOpDomain("dev.quiver", &domain);
    if (domain_status == NULL) {
        domain_status = api->CustomOpDomain_Add(domain, &multi_lora);
    }
    if (domain_status == NULL) {
        domain_status = api->CustomOpDomain_Add(domain, &multi_lora_fp16);
    }
    if (domain_status == NULL) {
        domain_status = api->CustomOpDomain_Add(domain, &matmul_q8);
    }
    if (domain_status == NULL) {
        domain_status = api->CustomOpDomain_Add(domain, &attention);
    }
}

/* Called by ONNX Runtime when a session's options load this library; the library's one exported symbol. */
__attribute__((visibility("default"))) OrtStatus *ORT_API_CALL RegisterCustomOps(OrtSessionOptions *options, const OrtApiBase *base) {
    api = base->GetApi(ORT_API_VERSION);
    if (api == NULL) { /* the runtime is older than these headers: say so with the oldest API there is */
        return base->GetApi(1)->CreateStatus(ORT_FAIL, "Quiver's ops need ONNX Runtime API version "
                                             "21 (1.21) or later");
    }
    pthread_once(&once, create_domain);
    if (domain_status != NULL) {
        return api->CreateStatus(api->GetErrorCode(domain_status), api->GetErrorMessage(domain_status));
    }
    return api->AddCustomOpDomain(options, domain);
}
