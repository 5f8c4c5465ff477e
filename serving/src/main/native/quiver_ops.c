/*
 * Quiver's ONNX Runtime custom ops (CPU), loaded with SessionOptions.registerCustomOpLibrary.
 *
 * dev.quiver:MultiLora — a linear layer's output plus one LoRA update per token row, as MultiLoraBranch's
 * three ops compute it, y = base + ((x @ a^T) * mask) @ b, with x [tokens, in], base [tokens, out], a [width, in],
 * b [width, out] (a run of adapter slots of `rank` rows each) and mask [tokens, width]. Rather than multiplying
 * every row against every bound slot (and packing each pool slice on every call, as MatMul does), it multiplies
 * each row only against the slots its mask selects, slot by slot so that a slot's rows of a and b are read from
 * memory once per call and then from cache for every row that uses it (Punica's BGMV, S-LoRA). Slot blocks whose
 * mask is zero for a row cost nothing; a step with no slot bound (width 0) is the base output, in place.
 *
 * Built against the C API of ONNX Runtime's headers (API version ORT_API_VERSION of those headers); a newer
 * runtime serves an older API version, so the library runs on the runtime the serving module depends on.
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

#include "onnxruntime_c_api.h"

static const OrtApi *api;

/* ---- the arithmetic ---- */

/* Hot loops are compiled for AVX-512, AVX2 + FMA and baseline x86-64, picked when the library loads. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define KERNEL __attribute__((target_clones("avx512f", "avx2,fma", "default")))
#else
#define KERNEL
#endif

/* 16 floats, loaded from and stored to any float address */
typedef float v16 __attribute__((vector_size(64), aligned(4)));

/*
 * How far ahead of its reads (in floats: 2 KiB) a pool stream asks for its next cache lines; one thread's
 * hardware prefetch alone kept a step's pool reads near 23 GB/s.
 */
#define PREFETCH 512

/* Rows multiplied together: each load of a pool row serves this many token rows. */
#define ROWS 4

static float sum16(v16 v) {
    float s = 0;
    for (int j = 0; j < 16; j++) {
        s += v[j];
    }
    return s;
}

/*
 * h[i * rank + r] = m[i][r] * (x[i] . a[r]) for rows i < n (n <= ROWS, unused x[i] point at a used row):
 * four pool rows at a time against the ROWS token rows, so each load of x or a feeds four multiply-adds.
 */
static inline __attribute__((always_inline)) void shrink_rows(const float *const x[ROWS],
        const float *const m[ROWS], const int n, const float *a, int64_t rank, int64_t in, float *h) {
    int64_t r = 0;
    for (; r + 4 <= rank; r += 4) {
        v16 acc[ROWS][4] = {{{0}}};
        int64_t k = 0;
        for (; k + 16 <= in; k += 16) {
            v16 xv[ROWS];
            for (int i = 0; i < n; i++) {
                xv[i] = *(const v16 *) (x[i] + k);
            }
            for (int q = 0; q < 4; q++) {
                __builtin_prefetch(a + (r + q) * in + k + PREFETCH);
                v16 av = *(const v16 *) (a + (r + q) * in + k);
                for (int i = 0; i < n; i++) {
                    acc[i][q] += xv[i] * av;
                }
            }
        }
        for (int i = 0; i < n; i++) {
            for (int q = 0; q < 4; q++) {
                float d = sum16(acc[i][q]);
                for (int64_t t = k; t < in; t++) {
                    d += x[i][t] * a[(r + q) * in + t];
                }
                h[i * rank + r + q] = m[i][r + q] * d;
            }
        }
    }
    for (; r < rank; r++) {
        for (int i = 0; i < n; i++) {
            float d = 0;
            for (int64_t t = 0; t < in; t++) {
                d += x[i][t] * a[r * in + t];
            }
            h[i * rank + r] = m[i][r] * d;
        }
    }
}

/* y[i][o] += sum_r h[i * rank + r] * b[r * out + o] for rows i < n and o in [from, to). */
static inline __attribute__((always_inline)) void expand_rows(float *const y[ROWS], const int n,
        const float *h, const float *b, int64_t rank, int64_t out, int64_t from, int64_t to) {
    int64_t o = from;
    for (; o + 16 <= to; o += 16) {
        v16 acc[ROWS];
        for (int i = 0; i < n; i++) {
            acc[i] = *(const v16 *) (y[i] + o);
        }
        for (int64_t r = 0; r < rank; r++) {
            v16 bv = *(const v16 *) (b + r * out + o);
            for (int i = 0; i < n; i++) {
                acc[i] += h[i * rank + r] * bv;
            }
        }
        for (int i = 0; i < n; i++) {
            *(v16 *) (y[i] + o) = acc[i];
        }
    }
    for (; o < to; o++) {
        for (int i = 0; i < n; i++) {
            float acc = y[i][o];
            for (int64_t r = 0; r < rank; r++) {
                acc += h[i * rank + r] * b[r * out + o];
            }
            y[i][o] = acc;
        }
    }
}

/*
 * The same sum, pool row by pool row: one sequential read of b, the rows' outputs updated in place (they stay in
 * L1). Faster than expand_rows while b still comes from memory, slower once b is in cache.
 */
static inline __attribute__((always_inline)) void stream_rows(float *const y[ROWS], const int n,
        const float *h, const float *b, int64_t rank, int64_t out, int64_t from, int64_t to) {
    for (int64_t r = 0; r < rank; r++) {
        const float *br = b + r * out;
        float hr[ROWS];
        for (int i = 0; i < n; i++) {
            hr[i] = h[i * rank + r];
        }
        int64_t o = from;
        for (; o + 16 <= to; o += 16) {
            __builtin_prefetch(br + o + PREFETCH);
            v16 bv = *(const v16 *) (br + o);
            for (int i = 0; i < n; i++) {
                *(v16 *) (y[i] + o) += hr[i] * bv;
            }
        }
        for (; o < to; o++) {
            for (int i = 0; i < n; i++) {
                y[i][o] += hr[i] * br[o];
            }
        }
    }
}

/* shrink_rows and expand_rows for a constant row count n of 1 .. ROWS, so their loops over rows unroll */
KERNEL static void shrink(const float *const x[ROWS], const float *const m[ROWS], int n, const float *a,
                          int64_t rank, int64_t in, float *h) {
    switch (n) {
        case 1: shrink_rows(x, m, 1, a, rank, in, h); break;
        case 2: shrink_rows(x, m, 2, a, rank, in, h); break;
        case 3: shrink_rows(x, m, 3, a, rank, in, h); break;
        default: shrink_rows(x, m, 4, a, rank, in, h); break;
    }
}

KERNEL static void expand(float *const y[ROWS], int n, const float *h, const float *b, int64_t rank,
                          int64_t out, int64_t from, int64_t to) {
    switch (n) {
        case 1: expand_rows(y, 1, h, b, rank, out, from, to); break;
        case 2: expand_rows(y, 2, h, b, rank, out, from, to); break;
        case 3: expand_rows(y, 3, h, b, rank, out, from, to); break;
        default: expand_rows(y, 4, h, b, rank, out, from, to); break;
    }
}

KERNEL static void stream(float *const y[ROWS], int n, const float *h, const float *b, int64_t rank,
                          int64_t out, int64_t from, int64_t to) {
    switch (n) {
        case 1: stream_rows(y, 1, h, b, rank, out, from, to); break;
        case 2: stream_rows(y, 2, h, b, rank, out, from, to); break;
        case 3: stream_rows(y, 3, h, b, rank, out, from, to); break;
        default: stream_rows(y, 4, h, b, rank, out, from, to); break;
    }
}

/* One call's operands, and the token rows of each slot its mask selects. */
typedef struct {
    const float *x, *a, *b, *mask;
    float *y;
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
    const float *a = c->a + s * c->rank * c->in, *b = c->b + s * c->rank * c->out;
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
        shrink(x, m, n, a, c->rank, c->in, h);
        if (p == c->start[s]) {
            stream(y, n, h, b, c->rank, c->out, from, to); /* b's first read: from memory */
        } else {
            expand(y, n, h, b, c->rank, c->out, from, to);
        }
    }
}

/* ---- the op ---- */

typedef struct {
    int64_t rank;
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
static OrtStatus *data(const OrtValue *value, const float **out) {
    return api->GetTensorMutableData((OrtValue *) value, (void **) out);
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
    const float *base;
    float *y;
    CHECK(data(vbase, &base));
    CHECK(api->GetTensorMutableData(vy, (void **) &y));
    if (y != base && tokens * out > 0) {
        memcpy(y, base, (size_t) (tokens * out) * sizeof(float));
    }
    if (width == 0 || tokens == 0) {
        return NULL;
    }
    Call c = {.tokens = tokens, .in = in, .out = out, .width = width, .rank = k->rank, .slots = width / k->rank};
    c.y = y;
    CHECK(data(vx, &c.x));
    CHECK(data(va, &c.a));
    CHECK(data(vb, &c.b));
    CHECK(data(vmask, &c.mask));
    c.rows = malloc((size_t) (tokens * c.slots) * sizeof(int64_t));
    c.start = malloc((size_t) (c.slots + 1) * sizeof(int64_t));
    if (c.rows == NULL || c.start == NULL) {
        free(c.rows);
        free(c.start);
        return api->CreateStatus(ORT_FAIL, "MultiLora: out of memory");
    }
    int64_t selected = 0, busy = 0;
    for (int64_t s = 0; s < c.slots; s++) {
        c.start[s] = selected;
        for (int64_t t = 0; t < tokens; t++) {
            const float *m = c.mask + t * width + s * c.rank;
            for (int64_t r = 0; r < c.rank; r++) {
                if (m[r] != 0.0f) {
                    c.rows[selected++] = t;
                    break;
                }
            }
        }
        busy += selected > c.start[s];
    }
    c.start[c.slots] = selected;
    /*
     * One task per slot, on ONNX Runtime's threads when there is enough work to pay for waking them (measured
     * on 2 cores: a batch-1 or batch-8 step on one adapter runs faster on the calling thread alone): two busy
     * slots or more, or a lone slot with 16 rows or more, whose output columns then split in two tasks. A row
     * on several slots would be written by several tasks at once, so then they run one after another.
     */
    int parallel = selected <= tokens && (busy >= 2 || (busy == 1 && selected >= 16));
    c.parts = parallel && busy == 1 ? 2 : 1;
    size_t tasks = (size_t) (c.slots * c.parts);
    OrtStatus *status = NULL;
    if (parallel) {
        status = api->KernelContext_ParallelFor(context, slot_task, tasks, 0, &c);
    } else if (selected > 0) {
        for (size_t i = 0; i < tasks; i++) {
            slot_task(&c, i);
        }
    }
    free(c.rows);
    free(c.start);
    return status;
}

static OrtStatus *ORT_API_CALL create_kernel(const OrtCustomOp *op, const OrtApi *ort, const OrtKernelInfo *info,
                                             void **kernel) {
    (void) op;
    (void) ort;
    int64_t rank;
    CHECK(api->KernelInfoGetAttribute_int64(info, "rank", &rank));
    if (rank <= 0 || rank > 4096) {
        return fail("MultiLora: attribute rank must be between 1 and 4096");
    }
    Kernel *k = malloc(sizeof(Kernel));
    if (k == NULL) {
        return api->CreateStatus(ORT_FAIL, "MultiLora: out of memory");
    }
    k->rank = rank;
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

static const char *ORT_API_CALL op_name(const OrtCustomOp *op) {
    (void) op;
    return "MultiLora";
}

static const char *ORT_API_CALL provider(const OrtCustomOp *op) {
    (void) op;
    return "CPUExecutionProvider";
}

static ONNXTensorElementDataType ORT_API_CALL float_type(const OrtCustomOp *op, size_t index) {
    (void) op;
    (void) index;
    return ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
}

static size_t ORT_API_CALL five(const OrtCustomOp *op) {
    (void) op;
    return 5;
}

static size_t ORT_API_CALL one(const OrtCustomOp *op) {
    (void) op;
    return 1;
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

static OrtCustomOp multi_lora;
static OrtCustomOpDomain *domain;
static OrtStatus *domain_status;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void create_domain(void) {
    multi_lora.version = ORT_API_VERSION;
    multi_lora.GetName = op_name;
    multi_lora.GetExecutionProviderType = provider;
    multi_lora.GetInputType = float_type;
    multi_lora.GetInputTypeCount = five;
    multi_lora.GetOutputType = float_type;
    multi_lora.GetOutputTypeCount = one;
    multi_lora.KernelDestroy = destroy_kernel;
    multi_lora.GetInputCharacteristic = required;
    multi_lora.GetOutputCharacteristic = required;
    multi_lora.GetInputMemoryType = default_memory;
    multi_lora.GetVariadicInputMinArity = not_variadic;
    multi_lora.GetVariadicInputHomogeneity = not_variadic;
    multi_lora.GetVariadicOutputMinArity = not_variadic;
    multi_lora.GetVariadicOutputHomogeneity = not_variadic;
    multi_lora.CreateKernelV2 = create_kernel;
    multi_lora.KernelComputeV2 = compute;
    multi_lora.InferOutputShapeFn = infer_shape;
    multi_lora.GetStartVersion = first_version;
    multi_lora.GetEndVersion = last_version;
    multi_lora.GetMayInplace = may_inplace;
    multi_lora.ReleaseMayInplace = release_inplace;
    multi_lora.GetAliasMap = no_alias;
    multi_lora.ReleaseAliasMap = release_inplace;
    domain_status = api->CreateCustomOpDomain("dev.quiver", &domain);
    if (domain_status == NULL) {
        domain_status = api->CustomOpDomain_Add(domain, &multi_lora);
    }
}

/* Called by ONNX Runtime when a session's options load this library; the library's one exported symbol. */
__attribute__((visibility("default"))) OrtStatus *ORT_API_CALL RegisterCustomOps(OrtSessionOptions *options, const OrtApiBase *base) {
    api = base->GetApi(ORT_API_VERSION);
    if (api == NULL) {
        return NULL; /* cannot even report: the runtime is older than these headers */
    }
    pthread_once(&once, create_domain);
    if (domain_status != NULL) {
        return api->CreateStatus(api->GetErrorCode(domain_status), api->GetErrorMessage(domain_status));
    }
    return api->AddCustomOpDomain(options, domain);
}
