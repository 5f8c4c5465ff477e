/*
 * dev.quiver:MatMulQ8 — y = x @ W^T for an int8 block-quantized W, as MatMulNBits (bits 8, accuracy
 * level 4) computes it, but from W's rows in groups of four: codes [n / 4, blocks, 4, bs] and scales
 * [n / 4, blocks, 4] (BlockQuantizer.RowGroups). A kernel computing four outputs then reads one stream of
 * consecutive bytes, which at batch 1 streams the weight faster than four rows apart; MatMulNBits at batch 1 also
 * costs a fixed time per call on top of its weight read.
 */
#include "quiver_ops.h"

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

/* Activation blocks whose largest magnitude is below this quantize to zero (127 / it is still finite). */
#define Q8_SMALLEST 1e-30f

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
        amax = amax >= Q8_SMALLEST ? amax : 0.0f;
        s[b] = amax / 127.0f;
        float inverse = amax > 0 ? 127.0f / amax : 0.0f;
        for (int64_t j = 0; j < bs; j++) {
            float v = j < len ? rintf(x[from + j] * inverse) : 0.0f;
            q[from + j] = (int8_t) (v > 127.0f ? 127.0f : v >= -127.0f ? v : -127.0f); /* NaN too: -127 */
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


/* Weights of at least this many bytes are split over ONNX Runtime's threads at every row count. */
#define Q8_PARALLEL_BYTES (256 * 1024)
#define Q8_TASK_BYTES (1024 * 1024)

static OrtStatus *ORT_API_CALL q8_compute(void *op_kernel, OrtKernelContext *context) {
    const Q8Kernel *k = op_kernel;
    static const char *wrong_b = "MatMulQ8: B must be the codes in row groups, [N / 4, ceil(K / block_size), 4,"
                                 " block_size], and scales N x ceil(K / block_size) values";
    const OrtValue *va, *vb, *vs;
    int64_t shape[8], b_shape[4], s_shape[8];
    size_t rank, b_rank, s_rank;
    CHECK(input_dims(context, 0, &va, shape, 8, &rank, "MatMulQ8: input A must have 1 to 8 dimensions"));
    if (rank < 1) {
        return fail("MatMulQ8: input A must have 1 to 8 dimensions");
    }
    if (shape[rank - 1] != k->k) {
        return fail("MatMulQ8: A's last dimension must be the attribute K");
    }
    int64_t blocks = (k->k + k->bs - 1) / k->bs;
    CHECK(input_dims(context, 1, &vb, b_shape, 4, &b_rank, wrong_b));
    CHECK(input_dims(context, 2, &vs, s_shape, 8, &s_rank, wrong_b));
    int64_t s_count = 1;
    for (size_t d = 0; d < s_rank; d++) {
        s_count *= s_shape[d];
    }
    if (b_rank != 4 || b_shape[0] != k->n / 4 || b_shape[1] != blocks || b_shape[2] != 4 || b_shape[3] != k->bs
        || s_count != k->n * blocks) {
        return fail(wrong_b);
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
    OrtStatus *status = run_tasks(context, q8_task, &c, tasks, k->n * row >= Q8_PARALLEL_BYTES || m >= 16);
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

static const char *ORT_API_CALL name(const OrtCustomOp *op) {
    (void) op;
    return "MatMulQ8";
}

/* A and scales float, B the codes */
static ONNXTensorElementDataType ORT_API_CALL input_type(const OrtCustomOp *op, size_t index) {
    (void) op;
    return index == 1 ? ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8 : ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
}

static size_t ORT_API_CALL three(const OrtCustomOp *op) {
    (void) op;
    return 3;
}

static size_t ORT_API_CALL one(const OrtCustomOp *op) {
    (void) op;
    return 1;
}

void define_matmul_q8(OrtCustomOp *op) {
    define_op(op);
    op->GetName = name;
    op->GetInputType = input_type;
    op->GetInputTypeCount = three;
    op->GetOutputTypeCount = one;
    op->CreateKernelV2 = q8_create_kernel;
    op->KernelComputeV2 = q8_compute;
    op->InferOutputShapeFn = q8_infer_shape;
}
