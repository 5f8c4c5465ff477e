#include <pthread.h>

#include "quiver_ops.h"

const OrtApi *api;

OrtStatus *fail(const char *message) {
    return api->CreateStatus(ORT_INVALID_ARGUMENT, message);
}

/* A read-only input's elements (the C API of these headers has only the mutable accessor). */
OrtStatus *data(const OrtValue *value, const void **out) {
    return api->GetTensorMutableData((OrtValue *) value, (void **) out);
}

OrtStatus *input_dims(OrtKernelContext *context, size_t i, const OrtValue **value, int64_t *shape, size_t capacity,
                      size_t *rank, const char *too_many) {
    CHECK(api->KernelContext_GetInput(context, i, value));
    OrtTensorTypeAndShapeInfo *info;
    CHECK(api->GetTensorTypeAndShape(*value, &info));
    OrtStatus *status = api->GetDimensionsCount(info, rank);
    if (status == NULL && *rank > capacity) {
        status = fail(too_many);
    }
    if (status == NULL) {
        status = api->GetDimensions(info, shape, *rank);
    }
    api->ReleaseTensorTypeAndShapeInfo(info);
    return status;
}

OrtStatus *optional_input(OrtKernelContext *context, size_t i, const OrtValue **value) {
    size_t count;
    CHECK(api->KernelContext_GetInputCount(context, &count));
    *value = NULL;
    return i < count ? api->KernelContext_GetInput(context, i, value) : NULL;
}

/* Tasks 0 .. tasks - 1 of fn: on ONNX Runtime's threads when parallel, else one after another on this one. */
OrtStatus *run_tasks(OrtKernelContext *context, void (*fn)(void *, size_t), void *arg, size_t tasks,
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
 * The node's optional string attribute `name` into value: 1 when it is there (value "" when it is too long for any
 * value the ops take, or not a string), 0 when it is absent. Tests pick a kernel set with the attribute isa.
 */
int string_attribute(const OrtKernelInfo *info, const char *name, char value[16]) {
    size_t size = 16;
    OrtStatus *failed = api->KernelInfoGetAttribute_string(info, name, value, &size);
    if (failed == NULL) {
        return 1;
    }
    api->ReleaseStatus(failed);
    value[0] = '\0';
    if (size > 16) { /* there, but longer than the buffer: ONNX Runtime asked for its size */
        return 1;
    }
    int64_t as_int;
    float as_float;
    OrtStatus *not_int = api->KernelInfoGetAttribute_int64(info, name, &as_int);
    OrtStatus *not_float = not_int == NULL ? NULL : api->KernelInfoGetAttribute_float(info, name, &as_float);
    int typed = not_int == NULL || not_float == NULL; /* there as a number: as wrong as an unknown name */
    if (not_int != NULL) {
        api->ReleaseStatus(not_int);
    }
    if (not_float != NULL) {
        api->ReleaseStatus(not_float);
    }
    return typed;
}

/*
 * Output `output` with input `input`'s element type and dimensions (at most 8; the last set to `last` when it is not
 * negative), in an info of its own: the context hands out one info for every input it is asked about.
 */
OrtStatus *infer_from(OrtShapeInferContext *context, size_t input, size_t output, int64_t last) {
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
    ONNXTensorElementDataType type;
    CHECK(api->GetTensorElementType(info, &type));
    OrtTensorTypeAndShapeInfo *out;
    CHECK(api->CreateTensorTypeAndShapeInfo(&out));
    OrtStatus *status = api->SetTensorElementType(out, type);
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

static void ORT_API_CALL destroy_kernel(void *kernel) {
    free(kernel);
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

static size_t ORT_API_CALL one_output(const OrtCustomOp *op) {
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

void ORT_API_CALL release_indices(int *input_index, int *output_index) {
    free(input_index);
    free(output_index);
}

void define_op(OrtCustomOp *op) {
    op->version = ORT_API_VERSION;
    op->GetExecutionProviderType = provider;
    op->GetOutputType = float_type;
    op->GetOutputTypeCount = one_output;
    op->KernelDestroy = destroy_kernel;
    op->GetInputCharacteristic = required;
    op->GetOutputCharacteristic = required;
    op->GetInputMemoryType = default_memory;
    op->GetVariadicInputMinArity = not_variadic;
    op->GetVariadicInputHomogeneity = not_variadic;
    op->GetVariadicOutputMinArity = not_variadic;
    op->GetVariadicOutputHomogeneity = not_variadic;
    op->GetStartVersion = first_version;
    op->GetEndVersion = last_version;
    op->GetAliasMap = no_alias;
    op->ReleaseAliasMap = release_indices;
}

static OrtCustomOp multi_lora, multi_lora_fp16, matmul_q8, matmul_q4, matmul_q8_norm, matmul_q4_norm, attention,
    attention_fp16;
static OrtCustomOpDomain *domain;
static OrtStatus *domain_status;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void create_domain(void) {
    define_multi_lora(&multi_lora, &multi_lora_fp16);
    define_matmul_q(&matmul_q8, &matmul_q4, &matmul_q8_norm, &matmul_q4_norm);
    define_attention(&attention, &attention_fp16);
    domain_status = api->CreateCustomOpDomain("dev.quiver", &domain);
    OrtCustomOp *ops[] = {&multi_lora, &multi_lora_fp16, &matmul_q8, &matmul_q4, &matmul_q8_norm, &matmul_q4_norm,
                          &attention, &attention_fp16};
    for (size_t i = 0; domain_status == NULL && i < sizeof ops / sizeof ops[0]; i++) {
        domain_status = api->CustomOpDomain_Add(domain, ops[i]);
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
