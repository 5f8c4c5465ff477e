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

/* Hot loops are compiled for x86-64-v4 (AVX-512), v3 (AVX2, FMA, F16C) and baseline x86-64, picked at load. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define KERNEL __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define KERNEL
#endif

/* 16 floats, loaded from and stored to any float address; 16 halves, from any half's address */
typedef float v16 __attribute__((vector_size(64), aligned(4)));
typedef _Float16 v16h __attribute__((vector_size(32), aligned(2)));

/*
 * Pools hold fp32 or fp16 values (`half`, a constant in every instantiation below): 16 of them from element i
 * of p as floats, one of them, and element i's address.
 */
static inline __attribute__((always_inline)) v16 load16(const void *p, int64_t i, const int half) {
    return half ? __builtin_convertvector(*(const v16h *) ((const _Float16 *) p + i), v16)
                : *(const v16 *) ((const float *) p + i);
}

static inline __attribute__((always_inline)) float load1(const void *p, int64_t i, const int half) {
    return half ? (float) ((const _Float16 *) p)[i] : ((const float *) p)[i];
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
        const float *const m[ROWS], const int n, const void *a, int64_t rank, int64_t in, float *h,
        const int half) {
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
                __builtin_prefetch(at(a, (r + q) * in + k + PREFETCH, half));
                v16 av = load16(a, (r + q) * in + k, half);
                for (int i = 0; i < n; i++) {
                    acc[i][q] += xv[i] * av;
                }
            }
        }
        for (int i = 0; i < n; i++) {
            for (int q = 0; q < 4; q++) {
                float d = sum16(acc[i][q]);
                for (int64_t t = k; t < in; t++) {
                    d += x[i][t] * load1(a, (r + q) * in + t, half);
                }
                h[i * rank + r + q] = m[i][r + q] * d;
            }
        }
    }
    for (; r < rank; r++) {
        for (int i = 0; i < n; i++) {
            float d = 0;
            for (int64_t t = 0; t < in; t++) {
                d += x[i][t] * load1(a, r * in + t, half);
            }
            h[i * rank + r] = m[i][r] * d;
        }
    }
}

/* y[i][o] += sum_r h[i * rank + r] * b[r * out + o] for rows i < n and o in [from, to). */
static inline __attribute__((always_inline)) void expand_rows(float *const y[ROWS], const int n,
        const float *h, const void *b, int64_t rank, int64_t out, int64_t from, int64_t to, const int half) {
    int64_t o = from;
    for (; o + 16 <= to; o += 16) {
        v16 acc[ROWS];
        for (int i = 0; i < n; i++) {
            acc[i] = *(const v16 *) (y[i] + o);
        }
        for (int64_t r = 0; r < rank; r++) {
            v16 bv = load16(b, r * out + o, half);
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
                acc += h[i * rank + r] * load1(b, r * out + o, half);
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
        const float *h, const void *b, int64_t rank, int64_t out, int64_t from, int64_t to, const int half) {
    for (int64_t r = 0; r < rank; r++) {
        const void *br = at(b, r * out, half);
        float hr[ROWS];
        for (int i = 0; i < n; i++) {
            hr[i] = h[i * rank + r];
        }
        int64_t o = from;
        for (; o + 16 <= to; o += 16) {
            __builtin_prefetch(at(br, o + PREFETCH, half));
            v16 bv = load16(br, o, half);
            for (int i = 0; i < n; i++) {
                *(v16 *) (y[i] + o) += hr[i] * bv;
            }
        }
        for (; o < to; o++) {
            for (int i = 0; i < n; i++) {
                y[i][o] += hr[i] * load1(br, o, half);
            }
        }
    }
}

/*
 * The kernels above for a constant row count n of 1 .. ROWS and pool type, so that their loops over rows unroll
 * and the type's loads are chosen at compile time.
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

KERNEL static void shrink(const float *const x[ROWS], const float *const m[ROWS], int n, const void *a,
                          int64_t rank, int64_t in, float *h, int half) {
#define SHRINK(N, H) shrink_rows(x, m, N, a, rank, in, h, H)
    BY_TYPE(SHRINK)
}

KERNEL static void expand(float *const y[ROWS], int n, const float *h, const void *b, int64_t rank,
                          int64_t out, int64_t from, int64_t to, int half) {
#define EXPAND(N, H) expand_rows(y, N, h, b, rank, out, from, to, H)
    BY_TYPE(EXPAND)
}

KERNEL static void stream(float *const y[ROWS], int n, const float *h, const void *b, int64_t rank,
                          int64_t out, int64_t from, int64_t to, int half) {
#define STREAM(N, H) stream_rows(y, N, h, b, rank, out, from, to, H)
    BY_TYPE(STREAM)
}

/* One call's operands, and the token rows of each slot its mask selects. */
typedef struct {
    const float *x, *mask;
    const void *a, *b; /* fp32, or fp16 when half */
    float *y;
    int half;
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
        shrink(x, m, n, a, c->rank, c->in, h, c->half);
        if (p == c->start[s]) {
            stream(y, n, h, b, c->rank, c->out, from, to, c->half); /* b's first read: from memory */
        } else {
            expand(y, n, h, b, c->rank, c->out, from, to, c->half);
        }
    }
}

/* ---- the op ---- */

typedef struct {
    int64_t rank;
    int half; /* MultiLoraFp16: the pools a and b hold fp16 */
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
              .half = k->half};
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

static OrtCustomOp multi_lora, multi_lora_fp16;

static OrtStatus *ORT_API_CALL create_kernel(const OrtCustomOp *op, const OrtApi *ort, const OrtKernelInfo *info,
                                             void **kernel) {
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
    k->half = op == &multi_lora_fp16;
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
    return op == &multi_lora_fp16 ? "MultiLoraFp16" : "MultiLora";
}

static const char *ORT_API_CALL provider(const OrtCustomOp *op) {
    (void) op;
    return "CPUExecutionProvider";
}

/* inputs x, base, a, b, mask and the output are float, but MultiLoraFp16's pools a and b */
static ONNXTensorElementDataType ORT_API_CALL input_type(const OrtCustomOp *op, size_t index) {
    return op == &multi_lora_fp16 && (index == 2 || index == 3) ? ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16
                                                                 : ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
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

static OrtCustomOpDomain *domain;
static OrtStatus *domain_status;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void define(OrtCustomOp *op) {
    op->version = ORT_API_VERSION;
    op->GetName = op_name;
    op->GetExecutionProviderType = provider;
    op->GetInputType = input_type;
    op->GetInputTypeCount = five;
    op->GetOutputType = float_type;
    op->GetOutputTypeCount = one;
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
    domain_status = api->CreateCustomOpDomain("dev.quiver", &domain);
    if (domain_status == NULL) {
        domain_status = api->CustomOpDomain_Add(domain, &multi_lora);
    }
    if (domain_status == NULL) {
        domain_status = api->CustomOpDomain_Add(domain, &multi_lora_fp16);
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
