/*
 * dev.quiver:Attention — com.microsoft:GroupQueryAttention as the decoder uses it (do_rotary, rotary not
 * interleaved, no padding: row r's new tokens follow seqlens_k[r] + 1 - s cached positions), with the KV cache
 * bound to the same memory as past and present. ONNX Runtime's CPU kernel spends some 70 us per layer on a batch-1
 * decode step over 128 cached positions (DecodeProfile); this one reads each cached key and value once per KV
 * head for all the query heads that share it. AttentionFp16 is the same over a cache of fp16 values (past and
 * present key and value float16; queries, keys, values and the output float): half the bytes per cached
 * position. New keys and values are rounded to fp16 as they are written, and attention reads them as stored.
 *
 * Beyond GroupQueryAttention, for the decoder's sake (each node costs the executor a few microseconds):
 * - q, k and v may be token rows [batch * seq, heads x head_dim] (the same memory as [batch, seq, ...]), batch
 *   being past key's first dimension; the output then is token rows too.
 * - Each of q, k and v may be packed rows, (heads + 2 x kv_heads) x head_dim values: the query heads, then the key
 *   heads, then the value heads, as GroupQueryAttention's packed QKV. The decoder passes a stacked q/k/v
 *   projection's output as all three, with no Split node.
 * - Optional inputs 9 and 10, q_norm and k_norm [head_dim], with the attribute epsilon: Qwen3's RMSNorm over each
 *   head's values, before rotary (x / sqrt(mean(x^2) + epsilon) * weight).
 */
#include "quiver_ops.h"

/* Query rows, (token, head) pairs of one KV head, that share each load of a cached key and value. */
#define ATTN_TILE 4

typedef struct {
    const float *q, *k, *v, *cos, *sin;
    const float *q_norm, *k_norm; /* per head RMSNorm weights [head_dim], or NULL */
    float epsilon;
    const void *past_key, *past_value; /* float, or fp16 for AttentionFp16 */
    float *out;
    void *present_key, *present_value;
    int64_t ldq, ldk, ldv;  /* floats from one token row of q, k, v to the next */
    int64_t *past;          /* cached positions of each row */
    int64_t rows, new_tokens, heads, kv_heads, head_dim, max_len;
    float scale;
    int copy_keys, copy_values; /* present is not past's memory: copy the cached positions first */
    float *scratch;         /* per task: rotated queries [ATTN_TILE, head_dim], scores [ATTN_TILE, longest] */
    int64_t scratch_per_task;
    int64_t longest;        /* the longest row's positions, cached and new */
    int isa, half;          /* A_V4, A_V3 or A_GENERIC kernels; an fp16 cache */
} AttnCall;

/* The kernel sets: AVX-512 (x86-64-v4), AVX2 (x86-64-v3) and portable C. */
enum { A_GENERIC, A_V3, A_V4 };

#define KV_CAT2(a, b) a##_##b
#define KV_CAT(a, b) KV_CAT2(a, b)

/* A cached value as a float, and a float into the cache, for each element type. */
static inline __attribute__((always_inline)) float kv_load_f(const float *p) {
    return *p;
}

static inline __attribute__((always_inline)) float kv_load_h(const uint16_t *p) {
    return half_to_float(*p);
}

static inline __attribute__((always_inline)) void kv_store_f(float *p, float v) {
    *p = v;
}

static inline __attribute__((always_inline)) void kv_store_h(uint16_t *p, float v) {
    *p = float_to_half(v);
}

/*
 * out = rotary(x) of one head's d values, x first RMS-normed with weight gamma when gamma is not NULL: rotary
 * pairs value j with j + d / 2 (not interleaved) at cos, sin [d / 2]. The AVX-512 and AVX2 kernels have their own
 * (attention_kernels.h).
 */
static void norm_rotate_generic(const float *x, const float *gamma, float epsilon, const float *cos,
                                const float *sin, int64_t d, float *out) {
    const int64_t half = d / 2;
    float scale = 1.0f;
    if (gamma != NULL) {
        float squares = 0;
        for (int64_t j = 0; j < d; j++) {
            squares += x[j] * x[j];
        }
        scale = 1.0f / sqrtf(squares / (float) d + epsilon);
    }
    for (int64_t j = 0; j < half; j++) {
        float a = x[j] * scale, b = x[j + half] * scale;
        if (gamma != NULL) {
            a *= gamma[j];
            b *= gamma[j + half];
        }
        out[j] = a * cos[j] - b * sin[j];
        out[j + half] = b * cos[j] + a * sin[j];
    }
}

#pragma GCC push_options
#pragma GCC target("arch=x86-64-v4")
#define ATTN_V4
#define ATTN_HALF 0
#include "attention_kernels.h"
#undef ATTN_HALF
#define ATTN_HALF 1
#include "attention_kernels.h"
#undef ATTN_HALF
#undef ATTN_V4
#pragma GCC pop_options
#pragma GCC push_options
#pragma GCC target("arch=x86-64-v3")
#define ATTN_V3
#define ATTN_HALF 0
#include "attention_kernels.h"
#undef ATTN_HALF
#define ATTN_HALF 1
#include "attention_kernels.h"
#undef ATTN_HALF
#undef ATTN_V3
#pragma GCC pop_options
#define ATTN_HALF 0
#include "attention_kernels.h"
#undef ATTN_HALF
#define ATTN_HALF 1
#include "attention_kernels.h"
#undef ATTN_HALF

/* Task i: batch row i / kv_heads, KV head i % kv_heads. */
static void attn_task(void *data, size_t i) {
    const AttnCall *c = data;
    int64_t row = (int64_t) i / c->kv_heads, kvh = (int64_t) i % c->kv_heads;
    if (c->isa == A_V4) {
        (c->half ? attend_head_v4_h : attend_head_v4_f)(c, row, kvh);
    } else if (c->isa == A_V3) {
        (c->half ? attend_head_v3_h : attend_head_v3_f)(c, row, kvh);
    } else {
        (c->half ? attend_head_generic_h : attend_head_generic_f)(c, row, kvh);
    }
}

typedef struct {
    int64_t heads, kv_heads;
    float scale, epsilon; /* epsilon NaN when the node has none */
    int isa, half;
} AttnKernel;

static const char *wrong_rank = "Attention: q, k, v [batch, seq, heads x head_dim] or [batch x seq, heads x"
                                " head_dim], past key and value [batch, kv_heads, max_len, head_dim], seqlens_k"
                                " [batch], total_sequence_length [], cos, sin [positions, head_dim / 2] and q_norm,"
                                " k_norm [head_dim] have the wrong number of dimensions";

/* Input i's dimensions, exactly `count` of them (at most 4). */
static OrtStatus *shape_of(OrtKernelContext *context, size_t i, size_t count, const OrtValue **value,
                           int64_t shape[4]) {
    size_t n;
    CHECK(input_dims(context, i, value, shape, 4, &n, wrong_rank));
    return n == count ? NULL : fail(wrong_rank);
}

/* q, k or v (input i): [b, s, width] as is, or token rows [b * s, width] as [b, s, width] for past's b. */
static OrtStatus *rows_of(OrtKernelContext *context, size_t i, int64_t b, const OrtValue **value, int64_t shape[4],
                          size_t *rank) {
    CHECK(input_dims(context, i, value, shape, 4, rank, wrong_rank));
    if (*rank == 3) {
        return NULL;
    }
    if (*rank != 2) {
        return fail(wrong_rank);
    }
    if (b <= 0 || shape[0] % b != 0) {
        return fail("Attention: token rows must be batch x seq rows, batch being past key's first dimension");
    }
    shape[2] = shape[1];
    shape[1] = shape[0] / b;
    shape[0] = b;
    return NULL;
}

/* Optional input i, [head_dim] floats, into weights (NULL when absent). */
static OrtStatus *norm_of(OrtKernelContext *context, size_t i, int64_t d, const float **weights) {
    *weights = NULL;
    const OrtValue *value;
    CHECK(optional_input(context, i, &value));
    if (value == NULL) {
        return NULL;
    }
    int64_t shape[4];
    size_t rank;
    CHECK(input_dims(context, i, &value, shape, 4, &rank, wrong_rank));
    if (rank != 1 || shape[0] != d) {
        return fail("Attention: q_norm and k_norm must be [head_dim]");
    }
    return data(value, (const void **) weights);
}

/* Work below which a call runs on the calling thread: query heads x positions x head_dim multiply-adds. */
#define ATTN_PARALLEL_WORK (1 << 18)

static OrtStatus *ORT_API_CALL attn_compute(void *op_kernel, OrtKernelContext *context) {
    const AttnKernel *k = op_kernel;
    const OrtValue *vq, *vk, *vv, *vpk, *vpv, *vseq, *vcos, *vsin;
    int64_t sq[4] = {0}, sk[4] = {0}, sv[4] = {0}, spk[4] = {0}, spv[4] = {0}, sseq[4] = {0}, scos[4] = {0},
            ssin[4] = {0};
    size_t q_rank, k_rank, v_rank;
    CHECK(shape_of(context, 3, 4, &vpk, spk));
    CHECK(rows_of(context, 0, spk[0], &vq, sq, &q_rank));
    CHECK(rows_of(context, 1, spk[0], &vk, sk, &k_rank));
    CHECK(rows_of(context, 2, spk[0], &vv, sv, &v_rank));
    CHECK(shape_of(context, 4, 4, &vpv, spv));
    CHECK(shape_of(context, 5, 1, &vseq, sseq));
    CHECK(shape_of(context, 7, 2, &vcos, scos));
    CHECK(shape_of(context, 8, 2, &vsin, ssin));
    int64_t b = sq[0], s = sq[1], d = spk[3], max_len = spk[2];
    int64_t q_width = k->heads * d, kv_width = k->kv_heads * d, packed = q_width + 2 * kv_width;
    int same = memcmp(spk, spv, sizeof spk) == 0 && memcmp(scos, ssin, sizeof scos) == 0;
    if (!same || sk[0] != b || sv[0] != b || sk[1] != s || sv[1] != s || spk[0] != b || spk[1] != k->kv_heads
        || (sq[2] != q_width && sq[2] != packed) || (sk[2] != kv_width && sk[2] != packed)
        || (sv[2] != kv_width && sv[2] != packed) || sseq[0] != b || d % 2 != 0 || scos[1] != d / 2) {
        return fail("Attention: shapes must be q [b, s, heads x d], k and v [b, s, kv_heads x d] (or any of them"
                    " packed, [b, s, (heads + 2 x kv_heads) x d]), past key and value [b, kv_heads, max_len, d],"
                    " seqlens_k [b], cos and sin [positions, d / 2]");
    }
    if (q_rank != k_rank || q_rank != v_rank) {
        return fail("Attention: q, k and v must all be [batch, seq, ...] or all token rows");
    }
    AttnCall c = {.rows = b, .new_tokens = s, .heads = k->heads, .kv_heads = k->kv_heads, .head_dim = d,
                  .max_len = max_len, .scale = k->scale, .isa = d % 16 == 0 ? k->isa : A_GENERIC,
                  .half = k->half, .ldq = sq[2], .ldk = sk[2], .ldv = sv[2]};
    CHECK(norm_of(context, 9, d, &c.q_norm));
    CHECK(norm_of(context, 10, d, &c.k_norm));
    if ((c.q_norm != NULL || c.k_norm != NULL) && isnan(k->epsilon)) {
        return fail("Attention: q_norm and k_norm need the attribute epsilon");
    }
    c.epsilon = k->epsilon;
    int64_t shape[4] = {b, s, k->heads * d, 0}, rows_shape[2] = {b * s, k->heads * d};
    OrtValue *vout, *vpresent_key, *vpresent_value;
    CHECK(api->KernelContext_GetOutput(context, 0, q_rank == 3 ? shape : rows_shape, q_rank, &vout));
    CHECK(api->KernelContext_GetOutput(context, 1, spk, 4, &vpresent_key));
    CHECK(api->KernelContext_GetOutput(context, 2, spv, 4, &vpresent_value));
    const int32_t *seqlens;
    CHECK(data(vq, (const void **) &c.q));
    CHECK(data(vk, (const void **) &c.k));
    CHECK(data(vv, (const void **) &c.v));
    c.k += sk[2] == packed ? q_width : 0; /* a packed input: its part of each row */
    c.v += sv[2] == packed ? q_width + kv_width : 0;
    CHECK(data(vpk, (const void **) &c.past_key));
    CHECK(data(vpv, (const void **) &c.past_value));
    CHECK(data(vseq, (const void **) &seqlens));
    CHECK(data(vcos, (const void **) &c.cos));
    CHECK(data(vsin, (const void **) &c.sin));
    CHECK(api->GetTensorMutableData(vout, (void **) &c.out));
    CHECK(api->GetTensorMutableData(vpresent_key, (void **) &c.present_key));
    CHECK(api->GetTensorMutableData(vpresent_value, (void **) &c.present_value));
    c.copy_keys = c.present_key != c.past_key;
    c.copy_values = c.present_value != c.past_value;
    if (b == 0 || s == 0) { /* no new positions: present is past */
        size_t bytes = (size_t) (b * k->kv_heads * max_len * d) * (k->half ? sizeof(uint16_t) : sizeof(float));
        if (c.copy_keys) {
            memcpy(c.present_key, c.past_key, bytes);
        }
        if (c.copy_values) {
            memcpy(c.present_value, c.past_value, bytes);
        }
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
        c.longest = c.past[r] + s > c.longest ? c.past[r] + s : c.longest;
    }
    c.scratch_per_task = ATTN_TILE * (d + c.longest);
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

static const char *ORT_API_CALL name(const OrtCustomOp *op) {
    (void) op;
    return "Attention";
}

static const char *ORT_API_CALL name_fp16(const OrtCustomOp *op) {
    (void) op;
    return "AttentionFp16";
}

static OrtStatus *ORT_API_CALL attn_create_kernel(const OrtCustomOp *op, const OrtApi *ort,
                                                  const OrtKernelInfo *info, void **kernel) {
    (void) ort;
    int64_t heads, kv_heads;
    float scale;
    CHECK(api->KernelInfoGetAttribute_int64(info, "num_heads", &heads));
    CHECK(api->KernelInfoGetAttribute_int64(info, "kv_num_heads", &kv_heads));
    CHECK(api->KernelInfoGetAttribute_float(info, "scale", &scale));
    float epsilon;
    OrtStatus *missing = api->KernelInfoGetAttribute_float(info, "epsilon", &epsilon);
    if (missing != NULL) {
        api->ReleaseStatus(missing);
        epsilon = NAN;
    }
    if (heads <= 0 || kv_heads <= 0 || heads % kv_heads != 0) {
        return fail("Attention: num_heads must be a positive multiple of kv_num_heads");
    }
    char isa[16];
    int chosen = string_attribute(info, "isa", isa);
    __builtin_cpu_init();
    int v4 = __builtin_cpu_supports("x86-64-v4"), v3 = __builtin_cpu_supports("x86-64-v3");
    int set = v4 ? A_V4 : v3 ? A_V3 : A_GENERIC;
    if (chosen) {
        if (strcmp(isa, "generic") == 0) {
            set = A_GENERIC;
        } else if (strcmp(isa, "v4") == 0 && v4) {
            set = A_V4;
        } else if (strcmp(isa, "v3") == 0 && v3) {
            set = A_V3;
        } else {
            return fail("Attention: attribute isa must be v4 (on a CPU with AVX-512), v3 (on a CPU with AVX2, FMA"
                        " and F16C) or generic");
        }
    }
    AttnKernel *a = malloc(sizeof(AttnKernel));
    if (a == NULL) {
        return api->CreateStatus(ORT_FAIL, "Attention: out of memory");
    }
    *a = (AttnKernel) {.heads = heads, .kv_heads = kv_heads, .scale = scale, .epsilon = epsilon, .isa = set,
                       .half = op->GetName == name_fp16};
    *kernel = a;
    return NULL;
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

/* q, k, v, past key, past value, seqlens_k, total_sequence_length, cos, sin */
static ONNXTensorElementDataType ORT_API_CALL input_type(const OrtCustomOp *op, size_t index) {
    (void) op;
    return index == 5 || index == 6 ? ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32 : ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
}

static ONNXTensorElementDataType ORT_API_CALL input_type_fp16(const OrtCustomOp *op, size_t index) {
    return index == 3 || index == 4 ? ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16 : input_type(op, index);
}

/* the output float, present key and value fp16 */
static ONNXTensorElementDataType ORT_API_CALL output_type_fp16(const OrtCustomOp *op, size_t index) {
    (void) op;
    return index == 0 ? ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT : ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16;
}

/* GroupQueryAttention's nine, then q_norm and k_norm */
static size_t ORT_API_CALL eleven(const OrtCustomOp *op) {
    (void) op;
    return 11;
}

static OrtCustomOpInputOutputCharacteristic ORT_API_CALL norms_optional(const OrtCustomOp *op, size_t index) {
    (void) op;
    return index >= 9 ? INPUT_OUTPUT_OPTIONAL : INPUT_OUTPUT_REQUIRED;
}

/* the output, present key and present value */
static size_t ORT_API_CALL three(const OrtCustomOp *op) {
    (void) op;
    return 3;
}

void define_attention(OrtCustomOp *fp32, OrtCustomOp *fp16) {
    OrtCustomOp *ops[] = {fp32, fp16};
    for (int i = 0; i < 2; i++) {
        define_op(ops[i]);
        ops[i]->GetInputTypeCount = eleven;
        ops[i]->GetInputCharacteristic = norms_optional;
        ops[i]->GetOutputTypeCount = three;
        ops[i]->CreateKernelV2 = attn_create_kernel;
        ops[i]->KernelComputeV2 = attn_compute;
        ops[i]->InferOutputShapeFn = attn_infer_shape;
    }
    fp32->GetName = name;
    fp32->GetInputType = input_type;
    fp16->GetName = name_fp16;
    fp16->GetInputType = input_type_fp16;
    fp16->GetOutputType = output_type_fp16;
}
