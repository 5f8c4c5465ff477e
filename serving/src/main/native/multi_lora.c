/*
 * dev.quiver:MultiLora (fp32 pools) and MultiLoraFp16 (fp16 pools) — a linear layer's output plus one LoRA update per token row, as MultiLoraBranch's
 * three ops compute it, y = base + ((x @ a^T) * mask) @ b, with x [tokens, in], base [tokens, out], a [width, in],
 * b [width, out] (a run of adapter slots of `rank` rows each) and mask [tokens, width]. Rather than multiplying
 * every row against every bound slot (and packing each pool slice on every call, as MatMul does), it multiplies
 * each row only against the slots its mask selects, slot by slot so that a slot's rows of a and b are read from
 * memory once per call and then from cache for every row that uses it (Punica's BGMV, S-LoRA). Slot blocks whose
 * mask is zero for a row cost nothing; a step with no slot bound (width 0) is the base output, in place.
 */
#include "quiver_ops.h"

/* ---- the arithmetic ---- */

/* 16 and 8 floats, loaded from and stored to any float address; 16 fp16 bit patterns, from any half's address */
typedef float v16 __attribute__((vector_size(64), aligned(4)));
typedef float v8 __attribute__((vector_size(32), aligned(4)));
typedef uint16_t v16h __attribute__((vector_size(32), aligned(2)));
typedef uint32_t v16w __attribute__((vector_size(64)));

/* Pools hold fp32 or fp16 values (`half`, a constant in every instantiation): one of them, element i's address. */
static inline __attribute__((always_inline)) float load1(const void *p, int64_t i, const int half) {
    return half ? half_to_float(((const uint16_t *) p)[i]) : ((const float *) p)[i];
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
 * The kernels are compiled three times and picked per node (kernels_for): for x86-64-v4 (AVX-512, 16 lanes),
 * v3 (AVX2, FMA, F16C: 8 lanes, in the 16 registers half as many pool rows a tile) and baseline x86-64. fp16
 * pools convert with vcvtph2ps on v4 and v3.
 */
#pragma GCC push_options
#pragma GCC target("arch=x86-64-v4")
#define ISA v4
#define VF v16
#define LANES 16
#define POOL_ROWS 4
#define HALVES(p) ((v16) _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *) (p))))
#define MADD(c, a, b) ((v16) _mm512_fmadd_ps((__m512) (a), (__m512) (b), (__m512) (c)))
#include "lora_kernels.h"
#undef MADD
#undef HALVES
#undef POOL_ROWS
#undef LANES
#undef VF
#undef ISA
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("arch=x86-64-v3")
#define ISA v3
#define VF v8
#define LANES 8
#define POOL_ROWS 2
#define HALVES(p) ((v8) _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) (p))))
#define MADD(c, a, b) ((v8) _mm256_fmadd_ps((__m256) (a), (__m256) (b), (__m256) (c)))
#include "lora_kernels.h"
#undef MADD
#undef HALVES
#undef POOL_ROWS
#undef LANES
#undef VF
#undef ISA
#pragma GCC pop_options

/*
 * Without F16C: the magnitude's bits shifted into float's places read 2^-112 of the value, subnormals included,
 * so one multiply by 2^112 restores it; pools hold no infinities or NaNs (PoolFormat refuses them).
 */
static inline __attribute__((always_inline)) v16 halves16_generic(const uint16_t *p) {
    v16w w = __builtin_convertvector(*(const v16h *) p, v16w);
    v16 magnitude = (v16) ((w & 0x7fff) << 13) * 0x1p112f;
    return (v16) ((v16w) magnitude | ((w & 0x8000) << 16));
}
#define ISA generic
#define VF v16
#define LANES 16
#define POOL_ROWS 4
#define HALVES halves16_generic
#define MADD(c, a, b) ((c) + (a) * (b))
#include "lora_kernels.h"
#undef MADD
#undef HALVES
#undef POOL_ROWS
#undef LANES
#undef VF
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
    float *y;
    int half;
    const Kernels *kernels;
    int64_t *rows;   /* the selected rows, slot by slot */
    int64_t *start;  /* slot s's rows are rows[start[s]] .. rows[start[s + 1] - 1] */
    int64_t tokens, in, width, rank, slots;
    int64_t ldy;     /* floats from one row of y to the next */
    int parts;
    LoraPart part[LORA_PARTS];
    int64_t splits;  /* column ranges per slot and part, one task each */
} Call;

/*
 * Task i: slot i / (parts x splits), part (i / splits) % parts, that part's output columns of split i % splits,
 * all of that slot's rows, ROWS at a time.
 */
static void slot_task(void *data, size_t i) {
    Call *c = data;
    int64_t per_slot = c->parts * c->splits;
    int64_t s = (int64_t) i / per_slot, p = (int64_t) i % per_slot / c->splits, split = (int64_t) i % c->splits;
    const LoraPart *part = &c->part[p];
    int64_t out = part->out;
    int64_t from = (out * split / c->splits) / 16 * 16;
    int64_t to = split + 1 == c->splits ? out : (out * (split + 1) / c->splits) / 16 * 16;
    const void *a = at(part->a, s * c->rank * c->in, c->half), *b = at(part->b, s * c->rank * out, c->half);
    float h[ROWS * c->rank];
    for (int64_t r = c->start[s]; r < c->start[s + 1]; r += ROWS) {
        int n = c->start[s + 1] - r < ROWS ? (int) (c->start[s + 1] - r) : ROWS;
        const float *x[ROWS], *m[ROWS];
        float *y[ROWS];
        for (int j = 0; j < ROWS; j++) {
            int64_t t = c->rows[r + (j < n ? j : 0)];
            x[j] = c->x + t * c->in;
            m[j] = c->mask + t * c->width + s * c->rank;
            y[j] = c->y + t * c->ldy + part->column;
        }
        c->kernels->shrink(x, m, n, a, c->rank, c->in, h, c->half);
        if (r == c->start[s]) {
            c->kernels->stream(y, n, h, b, c->rank, out, from, to, c->half); /* b's first read: from memory */
        } else {
            c->kernels->expand(y, n, h, b, c->rank, out, from, to, c->half);
        }
    }
}

typedef struct {
    int64_t rank;
    int half; /* MultiLoraFp16: the pools a and b hold fp16 */
    const Kernels *kernels;
} Kernel;

/* The dimensions of input i, at most 2 of them. */
static OrtStatus *dims(OrtKernelContext *context, size_t i, const OrtValue **value, int64_t shape[2],
                       size_t *count) {
    return input_dims(context, i, value, shape, 2, count, "MultiLora: inputs must be matrices");
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
    LoraUpdate u = {.tokens = tokens, .in = in, .ldy = out, .width = width, .rank = k->rank, .half = k->half,
                    .kernels = k->kernels, .y = y, .parts = 1, .part = {{.out = out}}};
    CHECK(data(vx, (const void **) &u.x));
    CHECK(data(va, &u.part[0].a));
    CHECK(data(vb, &u.part[0].b));
    CHECK(data(vmask, (const void **) &u.mask));
    return lora_add(context, &u);
}

OrtStatus *lora_add(OrtKernelContext *context, const LoraUpdate *u) {
    if (u->width == 0 || u->tokens == 0 || u->parts == 0) {
        return NULL;
    }
    Call c = {.tokens = u->tokens, .in = u->in, .ldy = u->ldy, .width = u->width, .rank = u->rank,
              .slots = u->width / u->rank, .half = u->half, .parts = u->parts,
              .kernels = u->kernels != NULL ? u->kernels : kernels_for(NULL)};
    c.y = u->y;
    c.x = u->x;
    c.mask = u->mask;
    memcpy(c.part, u->part, sizeof c.part);
    c.rows = malloc((size_t) (c.tokens * c.slots) * sizeof(int64_t));
    c.start = malloc((size_t) (c.slots + 1) * sizeof(int64_t));
    if (c.rows == NULL || c.start == NULL) {
        free(c.rows);
        free(c.start);
        return api->CreateStatus(ORT_FAIL, "MultiLora: out of memory");
    }
    /* the rows each slot's mask selects, slot by slot; and whether a row is on two slots or more */
    uint8_t *seen = calloc((size_t) c.tokens, 1);
    if (seen == NULL) {
        free(c.rows);
        free(c.start);
        return api->CreateStatus(ORT_FAIL, "MultiLora: out of memory");
    }
    int64_t selected = 0, busy = 0;
    int shared = 0;
    for (int64_t s = 0; s < c.slots; s++) {
        c.start[s] = selected;
        for (int64_t t = 0; t < c.tokens; t++) {
            const float *m = c.mask + t * c.width + s * c.rank;
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
     * One task per slot and part, on ONNX Runtime's threads when there is enough work to pay for waking them
     * (measured on 2 cores: a batch-1 or batch-8 step on one adapter runs faster on the calling thread alone): two
     * busy slots or more, or a lone slot with 16 rows or more, whose parts' output columns then split in two
     * tasks. A row on several slots would be written by several tasks at once, so then they run one after another.
     */
    int parallel = !shared && (busy >= 2 || (busy == 1 && selected >= 16));
    c.splits = parallel && busy == 1 ? 2 : 1;
    size_t tasks = (size_t) (c.slots * c.parts * c.splits);
    OrtStatus *status = parallel || selected > 0 ? run_tasks(context, slot_task, &c, tasks, parallel) : NULL;
    free(c.rows);
    free(c.start);
    return status;
}

static OrtCustomOp *fp16_op; /* MultiLoraFp16, set by define_multi_lora */

static OrtStatus *ORT_API_CALL create_kernel(const OrtCustomOp *op, const OrtApi *ort, const OrtKernelInfo *info,
                                             void **kernel) {
    (void) ort;
    int64_t rank;
    CHECK(api->KernelInfoGetAttribute_int64(info, "rank", &rank));
    if (rank <= 0 || rank > 4096) {
        return fail("MultiLora: attribute rank must be between 1 and 4096");
    }
    char isa[16];
    const Kernels *kernels = kernels_for(string_attribute(info, "isa", isa) ? isa : NULL);
    if (kernels == NULL) {
        return fail("MultiLora: attribute isa must be v4, v3 or generic, and one this CPU runs");
    }
    Kernel *k = malloc(sizeof(Kernel));
    if (k == NULL) {
        return api->CreateStatus(ORT_FAIL, "MultiLora: out of memory");
    }
    k->rank = rank;
    k->half = op == fp16_op;
    k->kernels = kernels;
    *kernel = k;
    return NULL;
}

static OrtStatus *ORT_API_CALL infer_shape(const OrtCustomOp *op, OrtShapeInferContext *context) {
    (void) op;
    OrtTensorTypeAndShapeInfo *info; /* the context's own: not released here */
    CHECK(api->ShapeInferContext_GetInputTypeShape(context, 1, &info));
    return api->ShapeInferContext_SetOutputTypeShape(context, 0, info);
}

static const char *ORT_API_CALL name(const OrtCustomOp *op) {
    return op == fp16_op ? "MultiLoraFp16" : "MultiLora";
}

/* x, base, a, b, mask: float, but MultiLoraFp16's pools a and b */
static ONNXTensorElementDataType ORT_API_CALL input_type(const OrtCustomOp *op, size_t index) {
    return op == fp16_op && (index == 2 || index == 3) ? ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16
                                                        : ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
}

static size_t ORT_API_CALL five(const OrtCustomOp *op) {
    (void) op;
    return 5;
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

void define_multi_lora(OrtCustomOp *fp32, OrtCustomOp *fp16) {
    fp16_op = fp16;
    OrtCustomOp *ops[] = {fp32, fp16};
    for (int i = 0; i < 2; i++) {
        define_op(ops[i]);
        ops[i]->GetName = name;
        ops[i]->GetInputType = input_type;
        ops[i]->GetInputTypeCount = five;
        ops[i]->CreateKernelV2 = create_kernel;
        ops[i]->KernelComputeV2 = compute;
        ops[i]->InferOutputShapeFn = infer_shape;
        ops[i]->GetMayInplace = may_inplace;
        ops[i]->ReleaseMayInplace = release_indices;
    }
}
