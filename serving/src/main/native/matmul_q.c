/*
 * dev.quiver:MatMulQ8 and MatMulQ4 — y = x @ W^T for a block-quantized W, from W's rows in groups of four: a
 * kernel computing four outputs then reads one stream of consecutive bytes, which at batch 1 streams the weight
 * faster than four rows apart, and the session maps the weight as stored, with no packed copy.
 *
 * Activations are quantized to int8 per row and block (scale max|x| / 127, as MatMulNBits does at accuracy level
 * 4), so each block's dot product is exact in int32. Three kernel sets, picked per node: AVX-512 VNNI
 * (q8_kernels.h, q4_kernels.h), AVX2 for x86-64-v3 CPUs without AVX-512 (qavx2_kernels.h) and portable C (below).
 * - MatMulQ8: int8 codes with an implied zero point of 128 and one fp32 scale per row and block, MatMulNBits'
 *   int8 weights in row groups: codes [n / 4, blocks, 4, bs] and scales [n / 4, blocks, 4]
 *   (BlockQuantizer.RowGroups).
 * - MatMulQ4: 4-bit codes, byte t of a row's block holding columns t (low nibble) and t + bs / 2 (high); codes
 *   [n / 4, blocks, 4, bs / 2] and fp16 [n / 4, blocks, 8], the group's four d then its four m: a value is
 *   code * d + m, as llama.cpp's Q4_1 (BlockQuantizer.Quantized.rowGroups()).
 *
 * Optional inputs add the layer's adapters, as MultiLoraFp16 would after it (one node fewer per linear layer):
 * 3 the LoRA mask [m, width], then the fp16 pools a [width, K] and b [width, part] of each of up to three parts,
 * the output's columns in the widths of the attribute lora_parts (q, k and v of a stacked projection); attribute
 * lora_rank. Parts after the node's last input get no update.
 *
 * With the attribute activation "swiglu", A's rows are 2K wide, a gate then an up projection (the stacked gate/up
 * output), and the op multiplies silu(gate) * up (silu(g) = g * sigmoid(g)), a down projection's input, in place of
 * the Split, Sigmoid, Mul and Mul nodes before it; the adapters then read that product.
 *
 * MatMulQ8Norm and MatMulQ4Norm first add and normalize, as the com.microsoft:SkipSimplifiedLayerNormalization
 * node before a pre-norm decoder's linear layers would: inputs 3 skip (A's shape) and 4 gamma [K], attribute
 * epsilon; output 1 the sum A + skip (the residual stream), and the op multiplies RMSNorm(sum) * gamma, which its
 * adapters read too. Their LoRA inputs follow at 5.
 */
#include "quiver_ops.h"

#include <stdio.h>

/* The kernel sets: AVX-512 VNNI, AVX2 (x86-64-v3) and portable C. */
enum { Q_GENERIC, Q_AVX2, Q_VNNI };

/* One MatMulQ8 or MatMulQ4 call: y [m, n] = a [m, k] @ W^T, W's codes b and scales in row groups. */
typedef struct {
    const float *a;
    const uint8_t *b;
    const float *scales;  /* MatMulQ8's */
    const uint16_t *dm;   /* MatMulQ4's d and m, fp16 */
    float *y;
    int64_t m, k, n, bs, blocks, bits;
    int8_t *aq;     /* the activations' codes, [m, blocks * bs], zero past k */
    float *as;      /* their scales, [m, blocks] */
    int32_t *corr;  /* MatMulQ8: -128 x their sums per vpdpbusd lane, [m, blocks, 16] (the VNNI kernels only) */
    float *xsum;    /* MatMulQ4: their scale times their sum, [ceil(m / 4), blocks, 4 rows, 4 copies] */
    const struct QKernels *kernels; /* the instruction set's (Q_SETS) */
    int64_t columns; /* output columns per task */
} QCall;

/*
 * How far ahead of its reads (bytes) a kernel asks for the weight's next cache lines: the hardware prefetchers
 * stop at each 4 KiB page of the mapped weights file.
 */
#define Q_PREFETCH 8192

/* Activation blocks whose largest magnitude is below this quantize to zero (127 / it is still finite). */
#define Q8_SMALLEST 1e-30f

#pragma GCC push_options
#pragma GCC target("arch=x86-64-v4,avx512vnni")
/* One row of activations to int8 codes q [blocks * bs] (zero past k) and scales s [blocks]. */
static void quantize_row_vnni(const float *x, int64_t k, int64_t bs, int64_t blocks, int8_t *q, float *s) {
    const __m512 sign = _mm512_set1_ps(-0.0f);
    for (int64_t b = 0; b < blocks; b++) {
        int64_t from = b * bs, len = k - from < bs ? k - from : bs;
        __m512 max = _mm512_setzero_ps();
        for (int64_t j = 0; j < len; j += 16) {
            __mmask16 live = len - j >= 16 ? 0xffff : (__mmask16) ((1u << (len - j)) - 1);
            max = _mm512_max_ps(max, _mm512_andnot_ps(sign, _mm512_maskz_loadu_ps(live, x + from + j)));
        }
        float amax = _mm512_reduce_max_ps(max);
        amax = amax >= Q8_SMALLEST ? amax : 0.0f; /* below it, 127 / amax overflows: the block counts as zero */
        s[b] = amax / 127.0f;
        __m512 inverse = _mm512_set1_ps(amax > 0 ? 127.0f / amax : 0.0f);
        for (int64_t j = 0; j < bs; j += 16) {
            __mmask16 live = j >= len ? 0 : len - j >= 16 ? 0xffff : (__mmask16) ((1u << (len - j)) - 1);
            __m512i codes = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_maskz_loadu_ps(live, x + from + j), inverse));
            _mm_storeu_si128((__m128i *) (q + from + j), _mm512_cvtsepi32_epi8(codes));
        }
    }
}

/* h [m, k] = silu(gate) * up for rows of a [m, 2k], gate then up: SwiGLU's product. */
static void swiglu_vnni(const float *a, int64_t m, int64_t k, float *h) {
    const __m512 one = _mm512_set1_ps(1.0f), sign = _mm512_set1_ps(-0.0f), zero = _mm512_setzero_ps();
    for (int64_t i = 0; i < m; i++) {
        const float *gate = a + i * 2 * k, *up = gate + k;
        for (int64_t j = 0; j < k; j += 16) {
            __mmask16 live = k - j >= 16 ? 0xffff : (__mmask16) ((1u << (k - j)) - 1);
            __m512 g = _mm512_maskz_loadu_ps(live, gate + j);
            __m512 e = exp16_v4(_mm512_or_ps(g, sign)); /* e^-|g|: sigmoid(g) is 1 / (1 + e), or e / (1 + e) below 0 */
            __mmask16 negative = _mm512_cmp_ps_mask(g, zero, _CMP_LT_OQ);
            __m512 sigmoid = _mm512_div_ps(_mm512_mask_blend_ps(negative, one, e), _mm512_add_ps(one, e));
            /* exp16_v4 stops at e^-87: below -88 sigmoid is 0, as in float (and -inf * 0 is NaN, as there) */
            sigmoid = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(g, _mm512_set1_ps(-88.0f), _CMP_NLT_UQ), sigmoid);
            _mm512_mask_storeu_ps(h + i * k + j, live,
                                  _mm512_mul_ps(_mm512_mul_ps(g, sigmoid), _mm512_maskz_loadu_ps(live, up + j)));
        }
    }
}

#include "q8_kernels.h"
#include "q4_kernels.h"
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("arch=x86-64-v3")
#include "qavx2_kernels.h"
#pragma GCC pop_options

static void swiglu_generic(const float *a, int64_t m, int64_t k, float *h) {
    for (int64_t i = 0; i < m; i++) {
        const float *gate = a + i * 2 * k, *up = gate + k;
        for (int64_t j = 0; j < k; j++) {
            h[i * k + j] = gate[j] / (1.0f + expf(-gate[j])) * up[j];
        }
    }
}

/* The portable kernels: the same codes and scales (rintf rounds to nearest even, as vcvtps2dq does). */
static void quantize_row_generic(const float *x, int64_t k, int64_t bs, int64_t blocks, int8_t *q, float *s) {
    for (int64_t b = 0; b < blocks; b++) {
        int64_t from = b * bs, len = k - from < bs ? k - from : bs;
        float amax = 0;
        for (int64_t j = 0; j < len; j++) {
            float v = x[from + j] < 0 ? -x[from + j] : x[from + j];
            amax = v > amax ? v : amax;
        }
        amax = amax >= Q8_SMALLEST ? amax : 0.0f;
        s[b] = amax / 127.0f;
        float inverse = amax > 0 ? 127.0f / amax : 0.0f;
        for (int64_t j = 0; j < bs; j++) {
            float v = j < len ? rintf(x[from + j] * inverse) : 0.0f;
            q[from + j] = (int8_t) (v > 127.0f ? 127.0f : v >= -127.0f ? v : -127.0f); /* NaN too: -127 */
        }
    }
}

static void q8_columns_generic(const QCall *c, int64_t from, int64_t to) {
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

static void q4_columns_generic(const QCall *c, int64_t from, int64_t to) {
    const int64_t row = c->blocks * c->bs, half = c->bs / 2;
    for (int64_t m = 0; m < c->m; m++) {
        for (int64_t n = from; n < to; n++) {
            float sum = 0;
            for (int64_t blk = 0; blk < c->blocks; blk++) {
                int64_t group = n / 4 * c->blocks + blk; /* this row's block's group */
                const uint8_t *w = c->b + (group * 4 + n % 4) * half;
                const int8_t *x = c->aq + m * row + blk * c->bs;
                int32_t d = 0;
                for (int64_t t = 0; t < half; t++) {
                    d += (w[t] & 0x0f) * x[t] + (w[t] >> 4) * x[t + half];
                }
                int64_t at = m * c->blocks + blk;
                sum += (float) d * (c->as[at] * half_to_float(c->dm[group * 8 + n % 4]))
                       + half_to_float(c->dm[group * 8 + 4 + n % 4]) * c->xsum[(m / 4 * c->blocks + blk) * 16 + m % 4 * 4];
            }
            c->y[m * c->n + n] = sum;
        }
    }
}

/* One instruction set's kernels, indexed in Q_SETS by Q_GENERIC, Q_AVX2 and Q_VNNI. */
typedef struct QKernels {
    void (*quantize_row)(const float *x, int64_t k, int64_t bs, int64_t blocks, int8_t *q, float *s);
    void (*swiglu)(const float *a, int64_t m, int64_t k, float *h);
    void (*q8_columns)(const QCall *c, int64_t from, int64_t to);
    void (*q4_columns)(const QCall *c, int64_t from, int64_t to);
} QKernels;

static const QKernels Q_SETS[] = {
    [Q_GENERIC] = {quantize_row_generic, swiglu_generic, q8_columns_generic, q4_columns_generic},
    [Q_AVX2] = {quantize_row_avx2, swiglu_avx2, q8_columns_avx2, q4_columns_avx2},
    [Q_VNNI] = {quantize_row_vnni, swiglu_vnni, q8_columns_vnni, q4_columns_vnni},
};

/* Task i: output columns [i * columns, (i + 1) * columns), whole row groups. */
static void q_task(void *data, size_t i) {
    const QCall *c = data;
    int64_t from = (int64_t) i * c->columns, to = from + c->columns < c->n ? from + c->columns : c->n;
    (c->bits == 4 ? c->kernels->q4_columns : c->kernels->q8_columns)(c, from, to);
}

typedef struct {
    int64_t k, n, bs, bits;
    int isa;
    int swiglu; /* attribute activation "swiglu": A is [.., 2K], gate then up */
    int norm;   /* MatMulQ8Norm, MatMulQ4Norm: A + skip, RMS-normed, with the attribute epsilon */
    float epsilon;
    size_t lora_input; /* the LoRA mask's input index: 3, or 5 after the norm's skip and gamma */
    int64_t lora_rank, lora_parts, part_width[LORA_PARTS]; /* lora_parts 0: the node takes no adapters */
    const char *name; /* the op's: MatMulQ8, MatMulQ4, MatMulQ8Norm or MatMulQ4Norm */
    char bad_a[64], bad_b[192]; /* the messages for wrong inputs, this op's */
} QKernel;

/* Weights of at least this many code bytes are split over ONNX Runtime's threads at every row count. */
#define Q_PARALLEL_BYTES (256 * 1024)
#define Q_TASK_BYTES (1024 * 1024)

/* fail() with the message "<op>: <what>" */
static OrtStatus *fail_q(const QKernel *k, const char *what) {
    char message[256];
    snprintf(message, sizeof message, "%s: %s", k->name, what);
    return fail(message);
}

/* y [m, n] += each part's adapters on x [m, k], when the node has the mask and the part its pools. */
static OrtStatus *add_adapters(const QKernel *k, OrtKernelContext *context, const float *x, int64_t m, float *y) {
    const OrtValue *vmask;
    CHECK(optional_input(context, k->lora_input, &vmask));
    if (k->lora_parts == 0 || vmask == NULL) {
        return NULL;
    }
    int64_t shape[2];
    size_t rank;
    const char *wrong = "MatMulQ: the LoRA mask must be [rows of A, width] and each part's pools a [width, K] and"
                        " b [width, part's columns], width a multiple of lora_rank";
    CHECK(input_dims(context, k->lora_input, &vmask, shape, 2, &rank, wrong));
    if (rank != 2 || shape[0] != m || shape[1] % k->lora_rank != 0) {
        return fail(wrong);
    }
    LoraUpdate u = {.x = x, .y = y, .tokens = m, .in = k->k, .ldy = k->n, .width = shape[1], .rank = k->lora_rank,
                    .half = 1};
    CHECK(data(vmask, (const void **) &u.mask));
    int64_t column = 0;
    for (int64_t p = 0; p < k->lora_parts; column += k->part_width[p], p++) {
        const OrtValue *va, *vb;
        size_t ia = k->lora_input + 1 + 2 * (size_t) p, ib = ia + 1;
        CHECK(optional_input(context, ia, &va));
        CHECK(optional_input(context, ib, &vb));
        if (va == NULL || vb == NULL) {
            continue;
        }
        int64_t sa[2], sb[2];
        size_t ra, rb;
        CHECK(input_dims(context, ia, &va, sa, 2, &ra, wrong));
        CHECK(input_dims(context, ib, &vb, sb, 2, &rb, wrong));
        if (ra != 2 || rb != 2 || sa[0] != u.width || sa[1] != k->k || sb[0] != u.width
            || sb[1] != k->part_width[p]) {
            return fail(wrong);
        }
        LoraPart *part = &u.part[u.parts++];
        CHECK(data(va, &part->a));
        CHECK(data(vb, &part->b));
        part->out = k->part_width[p];
        part->column = column;
    }
    return lora_add(context, &u);
}

/*
 * The Norm ops' prologue: sum = a + skip into output 1, and normed [m, K] = sum / sqrt(mean(sum^2) + epsilon) *
 * gamma (the mean over each row in double, as one pass that costs little beside the weights' read).
 */
static OrtStatus *add_and_norm(const QKernel *k, OrtKernelContext *context, const float *a, const int64_t *shape,
                               size_t rank, int64_t m, float *normed) {
    const OrtValue *vskip, *vgamma;
    int64_t skip_shape[8], gamma_shape[8];
    size_t skip_rank, gamma_rank;
    char wrong[96];
    snprintf(wrong, sizeof wrong, "%s: skip must have A's shape and gamma be [K]", k->name);
    CHECK(input_dims(context, 3, &vskip, skip_shape, 8, &skip_rank, wrong));
    CHECK(input_dims(context, 4, &vgamma, gamma_shape, 8, &gamma_rank, wrong));
    if (skip_rank != rank || memcmp(skip_shape, shape, (rank - 1) * sizeof(int64_t)) != 0
        || skip_shape[rank - 1] != k->k || gamma_rank != 1 || gamma_shape[0] != k->k) {
        return fail(wrong);
    }
    const float *skip, *gamma;
    float *sum;
    CHECK(data(vskip, (const void **) &skip));
    CHECK(data(vgamma, (const void **) &gamma));
    OrtValue *vsum;
    CHECK(api->KernelContext_GetOutput(context, 1, skip_shape, skip_rank, &vsum));
    CHECK(api->GetTensorMutableData(vsum, (void **) &sum));
    for (int64_t i = 0; i < m; i++) {
        const float *x = a + i * k->k, *r = skip + i * k->k;
        float *t = sum + i * k->k, *y = normed + i * k->k;
        double squares = 0;
        for (int64_t j = 0; j < k->k; j++) {
            t[j] = x[j] + r[j];
            squares += (double) t[j] * t[j];
        }
        float inverse = (float) (1.0 / sqrt(squares / (double) k->k + (double) k->epsilon));
        for (int64_t j = 0; j < k->k; j++) {
            y[j] = t[j] * inverse * gamma[j];
        }
    }
    return NULL;
}

static OrtStatus *ORT_API_CALL q_compute(void *op_kernel, OrtKernelContext *context) {
    const QKernel *k = op_kernel;
    const char *bad_a = k->bad_a, *bad_b = k->bad_b;
    const OrtValue *va, *vb, *vs;
    int64_t shape[8], b_shape[4], s_shape[8];
    size_t rank, b_rank, s_rank;
    CHECK(input_dims(context, 0, &va, shape, 8, &rank, bad_a));
    if (rank < 1) {
        return fail(bad_a);
    }
    if (shape[rank - 1] != (k->swiglu ? 2 * k->k : k->k)) {
        return fail_q(k, k->swiglu ? "A's last dimension must be twice the attribute K (activation swiglu: gate,"
                                     " then up)" : "A's last dimension must be the attribute K");
    }
    int64_t blocks = (k->k + k->bs - 1) / k->bs;
    CHECK(input_dims(context, 1, &vb, b_shape, 4, &b_rank, bad_b));
    CHECK(input_dims(context, 2, &vs, s_shape, 8, &s_rank, bad_b));
    int64_t s_count = 1;
    for (size_t d = 0; d < s_rank; d++) {
        s_count *= s_shape[d];
    }
    if (b_rank != 4 || b_shape[0] != k->n / 4 || b_shape[1] != blocks || b_shape[2] != 4
        || b_shape[3] != k->bs * k->bits / 8 || s_count != k->n * blocks * (k->bits == 8 ? 1 : 2)) {
        return fail(bad_b);
    }
    int64_t m = 1;
    for (size_t d = 0; d + 1 < rank; d++) {
        m *= shape[d];
    }
    int64_t a_shape[8];
    memcpy(a_shape, shape, rank * sizeof(int64_t));
    shape[rank - 1] = k->n;
    OrtValue *vy;
    CHECK(api->KernelContext_GetOutput(context, 0, shape, rank, &vy));
    QCall c = {.m = m, .k = k->k, .n = k->n, .bs = k->bs, .blocks = blocks, .bits = k->bits,
              .kernels = &Q_SETS[k->isa]};
    CHECK(api->GetTensorMutableData(vy, (void **) &c.y));
    CHECK(data(va, (const void **) &c.a));
    CHECK(data(vb, (const void **) &c.b));
    CHECK(data(vs, k->bits == 8 ? (const void **) &c.scales : (const void **) &c.dm));
    if (m == 0) { /* no rows: the norm's sum is empty too, but still an output */
        return k->norm ? add_and_norm(k, context, c.a, a_shape, rank, 0, NULL) : NULL;
    }
    float *product = NULL; /* the op's input to the weights when it is not A: SwiGLU's product, or the norm's */
    if (k->swiglu || k->norm) {
        product = malloc((size_t) (m * k->k) * sizeof(float));
        if (product == NULL) {
            return api->CreateStatus(ORT_FAIL, "MatMulQ: out of memory");
        }
        if (k->swiglu) {
            c.kernels->swiglu(c.a, m, k->k, product);
        } else {
            OrtStatus *wrong = add_and_norm(k, context, c.a, a_shape, rank, m, product);
            if (wrong != NULL) {
                free(product);
                return wrong;
            }
        }
        c.a = product;
    }
    int64_t row = blocks * k->bs;
    int corr = k->bits == 8 && k->isa == Q_VNNI;
    c.aq = malloc((size_t) (m * row));
    c.as = malloc((size_t) (m * blocks) * sizeof(float));
    c.corr = corr ? malloc((size_t) (m * blocks * 16) * sizeof(int32_t)) : NULL;
    size_t xsums = (size_t) ((m + 3) / 4 * blocks * 16);
    c.xsum = k->bits == 4 ? calloc(xsums, sizeof(float)) : NULL; /* rows past m stay zero */
    if (c.aq == NULL || c.as == NULL || (corr && c.corr == NULL) || (k->bits == 4 && c.xsum == NULL)) {
        free(c.aq);
        free(c.as);
        free(c.corr);
        free(c.xsum);
        free(product);
        return api->CreateStatus(ORT_FAIL, "MatMulQ: out of memory");
    }
    for (int64_t i = 0; i < m; i++) {
        int8_t *q = c.aq + i * row;
        float *s = c.as + i * blocks;
        c.kernels->quantize_row(c.a + i * k->k, k->k, k->bs, blocks, q, s);
        if (corr) {
            q8_corrections_vnni(q, k->bs, blocks, c.corr + i * blocks * 16);
        }
        for (int64_t b = 0; k->bits == 4 && b < blocks; b++) {
            int32_t sum = 0;
            for (int64_t j = 0; j < k->bs; j++) {
                sum += q[b * k->bs + j];
            }
            float *to = c.xsum + (i / 4 * blocks + b) * 16 + i % 4 * 4;
            to[0] = to[1] = to[2] = to[3] = s[b] * (float) sum;
        }
    }
    /*
     * Tasks of at most about Q_TASK_BYTES of weight each (whole 16-column groups), so that a thread streams long
     * runs of consecutive bytes.
     */
    int64_t row_bytes = row * k->bits / 8;
    c.columns = (Q_TASK_BYTES / row_bytes) / 16 * 16;
    int64_t sixteenth = (k->n / 16 + 15) / 16 * 16; /* and at least 16 tasks, so that the threads end together */
    c.columns = c.columns > sixteenth ? sixteenth : c.columns;
    c.columns = c.columns < 16 ? 16 : c.columns;
    size_t tasks = (size_t) ((k->n + c.columns - 1) / c.columns);
    OrtStatus *status = run_tasks(context, q_task, &c, tasks, k->n * row_bytes >= Q_PARALLEL_BYTES || m >= 16);
    free(c.aq);
    free(c.as);
    free(c.corr);
    free(c.xsum);
    if (status == NULL) {
        status = add_adapters(k, context, c.a, m, c.y);
    }
    free(product);
    return status;
}

static const char *ORT_API_CALL q8_name(const OrtCustomOp *op) {
    (void) op;
    return "MatMulQ8";
}

static const char *ORT_API_CALL q4_name(const OrtCustomOp *op) {
    (void) op;
    return "MatMulQ4";
}

static const char *ORT_API_CALL q8_norm_name(const OrtCustomOp *op) {
    (void) op;
    return "MatMulQ8Norm";
}

static const char *ORT_API_CALL q4_norm_name(const OrtCustomOp *op) {
    (void) op;
    return "MatMulQ4Norm";
}

static int is_norm(const OrtCustomOp *op) {
    return op->GetName == q8_norm_name || op->GetName == q4_norm_name;
}

static OrtStatus *ORT_API_CALL q_create_kernel(const OrtCustomOp *op, const OrtApi *ort,
                                               const OrtKernelInfo *info, void **kernel) {
    (void) ort;
    QKernel q = {.bits = op->GetName == q4_name || op->GetName == q4_norm_name ? 4 : 8, .norm = is_norm(op),
                 .name = op->GetName(op)};
    q.lora_input = q.norm ? 5 : 3;
    int64_t bits;
    CHECK(api->KernelInfoGetAttribute_int64(info, "K", &q.k));
    CHECK(api->KernelInfoGetAttribute_int64(info, "N", &q.n));
    CHECK(api->KernelInfoGetAttribute_int64(info, "block_size", &q.bs));
    CHECK(api->KernelInfoGetAttribute_int64(info, "bits", &bits));
    if (bits != q.bits || q.k <= 0 || q.n <= 0 || q.n % 4 != 0 || q.bs < 16 || (q.bs & (q.bs - 1)) != 0) {
        return fail_q(&q, q.bits == 8
            ? "needs bits 8, positive K, N a multiple of 4, and block_size a power of 2 of at least 16"
            : "needs bits 4, positive K, N a multiple of 4, and block_size a power of 2 of at least 16");
    }
    char isa[16];
    int chosen = string_attribute(info, "isa", isa);
    __builtin_cpu_init();
    int vnni = __builtin_cpu_supports("x86-64-v4") && __builtin_cpu_supports("avx512vnni")
               && (q.bits == 8 ? q.bs == 64 || q.bs == 128 : q.bs == 32);
    int avx2 = __builtin_cpu_supports("x86-64-v3") && (q.bits == 8 ? q.bs % 32 == 0 : q.bs == 32);
    q.isa = vnni ? Q_VNNI : avx2 ? Q_AVX2 : Q_GENERIC;
    if (chosen) {
        if (strcmp(isa, "vnni") == 0 && vnni) {
            q.isa = Q_VNNI;
        } else if (strcmp(isa, "avx2") == 0 && avx2) {
            q.isa = Q_AVX2;
        } else if (strcmp(isa, "generic") == 0) {
            q.isa = Q_GENERIC;
        } else {
            return fail_q(&q, q.bits == 8
                ? "attribute isa must be vnni (on a CPU with AVX-512 VNNI, blocks of 64 or 128), avx2 (on a CPU"
                  " with AVX2, FMA and F16C, blocks of a multiple of 32) or generic"
                : "attribute isa must be vnni (on a CPU with AVX-512 VNNI, blocks of 32), avx2 (on a CPU with AVX2,"
                  " FMA and F16C, blocks of 32) or generic");
        }
    }
    char activation[16];
    if (string_attribute(info, "activation", activation)) {
        if (strcmp(activation, "swiglu") != 0) {
            return fail_q(&q, "attribute activation must be swiglu (silu of A's first K columns times its last K)"
                              " or absent");
        }
        q.swiglu = 1;
    }
    if (q.norm) {
        CHECK(api->KernelInfoGetAttribute_float(info, "epsilon", &q.epsilon));
        if (q.swiglu || !(q.epsilon >= 0)) {
            return fail_q(&q, "needs a non-negative attribute epsilon, and no activation");
        }
    }
    snprintf(q.bad_a, sizeof q.bad_a, "%s: input A must have 1 to 8 dimensions", q.name);
    snprintf(q.bad_b, sizeof q.bad_b, "%s: B must be the codes in row groups, [N / 4, ceil(K / block_size),"
             " 4, block_size%s], and %s", q.name, q.bits == 8 ? "" : " / 2",
             q.bits == 8 ? "scales N x ceil(K / block_size) values"
                         : "d and m [N / 4, ceil(K / block_size), 8] fp16 values");
    size_t parts = 0;
    OrtStatus *none = api->KernelInfoGetAttributeArray_int64(info, "lora_parts", NULL, &parts);
    if (none != NULL) {
        api->ReleaseStatus(none);
        parts = 0;
    }
    if (parts > 0) {
        if (parts > LORA_PARTS) {
            return fail_q(&q, "lora_parts may name at most 3 parts");
        }
        CHECK(api->KernelInfoGetAttributeArray_int64(info, "lora_parts", q.part_width, &parts));
        CHECK(api->KernelInfoGetAttribute_int64(info, "lora_rank", &q.lora_rank));
        int64_t sum = 0;
        for (size_t p = 0; p < parts; p++) {
            sum += q.part_width[p];
        }
        if (sum != q.n || q.lora_rank <= 0 || q.lora_rank > 4096) {
            return fail_q(&q, "lora_parts must add up to N, and lora_rank be between 1 and 4096");
        }
        q.lora_parts = (int64_t) parts;
    }
    QKernel *kept = malloc(sizeof(QKernel));
    if (kept == NULL) {
        return api->CreateStatus(ORT_FAIL, "MatMulQ: out of memory");
    }
    *kept = q;
    *kernel = kept;
    return NULL;
}

/* A's shape with its last dimension N; the norm's sum, skip's */
static OrtStatus *ORT_API_CALL q_infer_shape(const OrtCustomOp *op, OrtShapeInferContext *context) {
    const OrtOpAttr *attr;
    CHECK(api->ShapeInferContext_GetAttribute(context, "N", &attr));
    int64_t n;
    size_t size;
    CHECK(api->ReadOpAttr(attr, ORT_OP_ATTR_INT, &n, sizeof n, &size));
    CHECK(infer_from(context, 0, 0, n));
    return is_norm(op) ? infer_from(context, 3, 1, -1) : NULL;
}

/*
 * A float, B the codes, then MatMulQ8's scales float or MatMulQ4's d and m fp16; the norm's skip and gamma float;
 * the LoRA mask float and its pools fp16.
 */
static ONNXTensorElementDataType ORT_API_CALL q_input_type(const OrtCustomOp *op, size_t index) {
    size_t lora = is_norm(op) ? 5 : 3;
    if (index == 1) {
        return ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8;
    }
    if (index == 2) {
        return op->GetName == q8_name || op->GetName == q8_norm_name ? ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT
                                                                      : ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16;
    }
    return index > lora ? ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16 : ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
}

/* A, B, scales; the norm's skip and gamma; then the LoRA mask and three parts' pools */
static size_t ORT_API_CALL input_count(const OrtCustomOp *op) {
    return is_norm(op) ? 12 : 10;
}

static OrtCustomOpInputOutputCharacteristic ORT_API_CALL lora_optional(const OrtCustomOp *op, size_t index) {
    return index >= (is_norm(op) ? 5u : 3u) ? INPUT_OUTPUT_OPTIONAL : INPUT_OUTPUT_REQUIRED;
}

/* the product; the norm's sum */
static size_t ORT_API_CALL output_count(const OrtCustomOp *op) {
    return is_norm(op) ? 2 : 1;
}

void define_matmul_q(OrtCustomOp *q8, OrtCustomOp *q4, OrtCustomOp *q8_norm, OrtCustomOp *q4_norm) {
    OrtCustomOp *ops[] = {q8, q4, q8_norm, q4_norm};
    const char *(ORT_API_CALL *names[])(const OrtCustomOp *) = {q8_name, q4_name, q8_norm_name, q4_norm_name};
    for (int i = 0; i < 4; i++) {
        define_op(ops[i]);
        ops[i]->GetName = names[i];
        ops[i]->GetInputType = q_input_type;
        ops[i]->GetInputTypeCount = input_count;
        ops[i]->GetInputCharacteristic = lora_optional;
        ops[i]->GetOutputTypeCount = output_count;
        ops[i]->CreateKernelV2 = q_create_kernel;
        ops[i]->KernelComputeV2 = q_compute;
        ops[i]->InferOutputShapeFn = q_infer_shape;
    }
}
