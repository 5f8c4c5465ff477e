/*
 * The Attention kernels, included by attention.c six times: under the x86-64-v4 target with ATTN_V4 defined
 * (AVX-512), under x86-64-v3 with ATTN_V3 (AVX2, FMA, F16C) and with neither (portable C), each for a cache
 * of floats and of fp16 values (ATTN_HALF 0 or 1: KV is the cache's element type). A(name) suffixes each
 * function with the set's name; S(name), for the functions that do not read the cache, with the instruction
 * set's only (defined with the float cache's kernels).
 */

#if ATTN_HALF
#define KV uint16_t
#define KV_SUFFIX h
#else
#define KV float
#define KV_SUFFIX f
#endif
#define KV_LOAD KV_CAT(kv_load, KV_SUFFIX)
#define KV_STORE KV_CAT(kv_store, KV_SUFFIX)
/* values per cache line of the cache */
#define KV_LINE (64 / (int64_t) sizeof(KV))

#ifdef ATTN_V4
#define A(name) KV_CAT(name##_v4, KV_SUFFIX)
#define S(name) name##_v4

/* 16 cached values from any address as floats */
static inline __attribute__((always_inline)) __m512 KV_CAT(kv_load16, KV_SUFFIX)(const KV *p) {
#if ATTN_HALF
    return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *) p));
#else
    return _mm512_loadu_ps(p);
#endif
}
#define KV_LOAD16 KV_CAT(kv_load16, KV_SUFFIX)

/* The d values at from into the cache at to (d a multiple of 16), rounded to nearest even when fp16. */
static inline __attribute__((always_inline)) void A(store_row)(KV *to, const float *from, int64_t d) {
    for (int64_t j = 0; j < d; j += 16) {
#if ATTN_HALF
        _mm256_storeu_si256((__m256i *) (to + j),
                            _mm512_cvtps_ph(_mm512_loadu_ps(from + j), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
#else
        _mm512_storeu_ps(to + j, _mm512_loadu_ps(from + j));
#endif
    }
}

#if !ATTN_HALF

/* norm_rotate_generic's result (attention.c) for d a multiple of 16, 16 pairs at a time. */
static void S(norm_rotate)(const float *x, const float *gamma, float epsilon, const float *cos, const float *sin,
                           int64_t d, float *out) {
    const int64_t half = d / 2;
    __m512 scale = _mm512_set1_ps(1.0f);
    if (gamma != NULL) {
        __m512 squares = _mm512_setzero_ps();
        for (int64_t j = 0; j < d; j += 16) {
            __m512 v = _mm512_loadu_ps(x + j);
            squares = _mm512_fmadd_ps(v, v, squares);
        }
        scale = _mm512_set1_ps(1.0f / sqrtf(_mm512_reduce_add_ps(squares) / (float) d + epsilon));
    }
    for (int64_t j = 0; j < half; j += 16) {
        __mmask16 live = half - j >= 16 ? 0xffff : (__mmask16) ((1u << (half - j)) - 1);
        __m512 a = _mm512_mul_ps(_mm512_maskz_loadu_ps(live, x + j), scale);
        __m512 b = _mm512_mul_ps(_mm512_maskz_loadu_ps(live, x + j + half), scale);
        if (gamma != NULL) {
            a = _mm512_mul_ps(a, _mm512_maskz_loadu_ps(live, gamma + j));
            b = _mm512_mul_ps(b, _mm512_maskz_loadu_ps(live, gamma + j + half));
        }
        __m512 cv = _mm512_maskz_loadu_ps(live, cos + j), sv = _mm512_maskz_loadu_ps(live, sin + j);
        _mm512_mask_storeu_ps(out + j, live, _mm512_fmsub_ps(a, cv, _mm512_mul_ps(b, sv)));
        _mm512_mask_storeu_ps(out + j + half, live, _mm512_fmadd_ps(b, cv, _mm512_mul_ps(a, sv)));
    }
}

/* s[0 .. n) = e^(s - max) / their sum. */
static void S(softmax)(float *s, int64_t n) {
    __m512 mv = _mm512_set1_ps(-INFINITY);
    int64_t p = 0;
    for (; p + 16 <= n; p += 16) {
        mv = _mm512_max_ps(mv, _mm512_loadu_ps(s + p));
    }
    float max = _mm512_reduce_max_ps(mv);
    for (; p < n; p++) {
        max = s[p] > max ? s[p] : max;
    }
    __m512 sum = _mm512_setzero_ps();
    for (p = 0; p < n; p += 16) {
        __mmask16 live = n - p >= 16 ? 0xffff : (__mmask16) ((1u << (n - p)) - 1);
        __m512 e = exp16_v4(_mm512_sub_ps(_mm512_maskz_loadu_ps(live, s + p), _mm512_set1_ps(max)));
        e = _mm512_maskz_mov_ps(live, e);
        sum = _mm512_add_ps(sum, e);
        _mm512_mask_storeu_ps(s + p, live, e);
    }
    __m512 inverse = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(sum));
    for (p = 0; p < n; p += 16) {
        __mmask16 live = n - p >= 16 ? 0xffff : (__mmask16) ((1u << (n - p)) - 1);
        _mm512_mask_storeu_ps(s + p, live, _mm512_mul_ps(_mm512_maskz_loadu_ps(live, s + p), inverse));
    }
}

#endif

/*
 * s[i][p] = scale * q[i] . key[p] for the P (1 .. 4) query rows i, positions p < n; key rows d floats apart, d a
 * multiple of 16. Four positions at a time: each key vector is loaded once for the P rows. It also asks for the
 * same positions' value rows, which mix reads next: their memory's latency then overlaps this loop's work
 * (batch-1 layer in a C harness, 8 KV heads over 128 fp16 positions: 19-26 against 27-31 us on one thread).
 */
static inline __attribute__((always_inline)) void A(scores_rows)(const float *const q[], const int P,
        const KV *key, const KV *value, int64_t n, int64_t d, float scale, float *const s[]) {
    int64_t p = 0;
    for (; p + 4 <= n; p += 4) {
        for (int64_t j = 0; j < 4 * d; j += KV_LINE) { /* the rows 16 positions ahead, a cache line at a time */
            _mm_prefetch((const char *) (key + (p + 16) * d + j), _MM_HINT_T0);
            _mm_prefetch((const char *) (value + p * d + j), _MM_HINT_T0);
        }
        __m512 acc[4][4];
        for (int i = 0; i < P; i++) {
            for (int r = 0; r < 4; r++) {
                acc[i][r] = _mm512_setzero_ps();
            }
        }
        for (int64_t j = 0; j < d; j += 16) {
            __m512 kv[4];
            for (int r = 0; r < 4; r++) {
                kv[r] = KV_LOAD16(key + (p + r) * d + j);
            }
            for (int i = 0; i < P; i++) {
                __m512 qv = _mm512_loadu_ps(q[i] + j);
                for (int r = 0; r < 4; r++) {
                    acc[i][r] = _mm512_fmadd_ps(qv, kv[r], acc[i][r]);
                }
            }
        }
        for (int i = 0; i < P; i++) {
            _mm_storeu_ps(s[i] + p, _mm_mul_ps(sum4_v4(acc[i][0], acc[i][1], acc[i][2], acc[i][3]),
                                               _mm_set1_ps(scale)));
        }
    }
    for (; p < n; p++) {
        for (int i = 0; i < P; i++) {
            __m512 acc = _mm512_setzero_ps();
            for (int64_t j = 0; j < d; j += 16) {
                acc = _mm512_fmadd_ps(_mm512_loadu_ps(q[i] + j), KV_LOAD16(key + p * d + j), acc);
            }
            s[i][p] = scale * _mm512_reduce_add_ps(acc);
        }
    }
}

static void A(scores)(const float *const q[], int P, const KV *key, const KV *value, int64_t n, int64_t d,
                      float scale, float *const s[]) {
    switch (P) {
        case 1: A(scores_rows)(q, 1, key, value, n, d, scale, s); break;
        case 2: A(scores_rows)(q, 2, key, value, n, d, scale, s); break;
        case 3: A(scores_rows)(q, 3, key, value, n, d, scale, s); break;
        default: A(scores_rows)(q, 4, key, value, n, d, scale, s); break;
    }
}

/*
 * out[i] = sum over p < n of s[i][p] * value[p] for the P (1 .. 4) rows i; W (1 or 4) vectors of 16 floats of d
 * at a time, each value vector loaded once for the P rows.
 */
static inline __attribute__((always_inline)) void A(mix_rows)(float *const s[], const int P, const KV *value,
        int64_t n, int64_t d, float *const out[], const int W) {
    for (int64_t j = 0; j < d; j += 16 * W) {
        __m512 acc[4][4];
        for (int i = 0; i < P; i++) {
            for (int w = 0; w < W; w++) {
                acc[i][w] = _mm512_setzero_ps();
            }
        }
        for (int64_t p = 0; p < n; p++) {
            if (W == 4) {
                for (int64_t at = 0; at < 64; at += KV_LINE) { /* the 4 x 16 values of this row 16 positions ahead */
                    _mm_prefetch((const char *) (value + (p + 16) * d + j + at), _MM_HINT_T0);
                }
            }
            __m512 vv[4];
            for (int w = 0; w < W; w++) {
                vv[w] = KV_LOAD16(value + p * d + j + 16 * w);
            }
            for (int i = 0; i < P; i++) {
                __m512 weight = _mm512_set1_ps(s[i][p]);
                for (int w = 0; w < W; w++) {
                    acc[i][w] = _mm512_fmadd_ps(weight, vv[w], acc[i][w]);
                }
            }
        }
        for (int i = 0; i < P; i++) {
            for (int w = 0; w < W; w++) {
                _mm512_storeu_ps(out[i] + j + 16 * w, acc[i][w]);
            }
        }
    }
}

#define MIX_ROWS(P) (d % 64 == 0 ? A(mix_rows)(s, P, value, n, d, out, 4) : A(mix_rows)(s, P, value, n, d, out, 1))
static void A(mix)(float *const s[], int P, const KV *value, int64_t n, int64_t d, float *const out[]) {
    switch (P) {
        case 1: MIX_ROWS(1); break;
        case 2: MIX_ROWS(2); break;
        case 3: MIX_ROWS(3); break;
        default: MIX_ROWS(4); break;
    }
}
#undef MIX_ROWS
#undef KV_LOAD16

#elif defined(ATTN_V3)
#define A(name) KV_CAT(name##_v3, KV_SUFFIX)
#define S(name) name##_v3

/* 8 cached values from any address as floats */
static inline __attribute__((always_inline)) __m256 KV_CAT(kv_load8, KV_SUFFIX)(const KV *p) {
#if ATTN_HALF
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) p));
#else
    return _mm256_loadu_ps(p);
#endif
}
#define KV_LOAD8 KV_CAT(kv_load8, KV_SUFFIX)

/* The d values at from into the cache at to (d a multiple of 16), rounded to nearest even when fp16. */
static inline __attribute__((always_inline)) void A(store_row)(KV *to, const float *from, int64_t d) {
    for (int64_t j = 0; j < d; j += 8) {
#if ATTN_HALF
        _mm_storeu_si128((__m128i *) (to + j),
                         _mm256_cvtps_ph(_mm256_loadu_ps(from + j), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
#else
        _mm256_storeu_ps(to + j, _mm256_loadu_ps(from + j));
#endif
    }
}

#if !ATTN_HALF

/* The sum and the largest of v's lanes. */
static inline __attribute__((always_inline)) float hsum8_v3(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}

static inline __attribute__((always_inline)) float hmax8_v3(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_max_ss(s, _mm_movehdup_ps(s)));
}

/* norm_rotate_generic's result (attention.c) for d a multiple of 16, 8 pairs at a time. */
static void S(norm_rotate)(const float *x, const float *gamma, float epsilon, const float *cos, const float *sin,
                           int64_t d, float *out) {
    const int64_t half = d / 2;
    __m256 scale = _mm256_set1_ps(1.0f);
    if (gamma != NULL) {
        __m256 squares = _mm256_setzero_ps();
        for (int64_t j = 0; j < d; j += 8) {
            __m256 v = _mm256_loadu_ps(x + j);
            squares = _mm256_fmadd_ps(v, v, squares);
        }
        scale = _mm256_set1_ps(1.0f / sqrtf(hsum8_v3(squares) / (float) d + epsilon));
    }
    for (int64_t j = 0; j < half; j += 8) {
        __m256 a = _mm256_mul_ps(_mm256_loadu_ps(x + j), scale);
        __m256 b = _mm256_mul_ps(_mm256_loadu_ps(x + j + half), scale);
        if (gamma != NULL) {
            a = _mm256_mul_ps(a, _mm256_loadu_ps(gamma + j));
            b = _mm256_mul_ps(b, _mm256_loadu_ps(gamma + j + half));
        }
        __m256 cv = _mm256_loadu_ps(cos + j), sv = _mm256_loadu_ps(sin + j);
        _mm256_storeu_ps(out + j, _mm256_fmsub_ps(a, cv, _mm256_mul_ps(b, sv)));
        _mm256_storeu_ps(out + j + half, _mm256_fmadd_ps(b, cv, _mm256_mul_ps(a, sv)));
    }
}

/* s[0 .. n) = e^(s - max) / their sum; the last n % 8 through a buffer of 8. */
static void S(softmax)(float *s, int64_t n) {
    __m256 mv = _mm256_set1_ps(-INFINITY);
    int64_t p = 0;
    for (; p + 8 <= n; p += 8) {
        mv = _mm256_max_ps(mv, _mm256_loadu_ps(s + p));
    }
    float max = hmax8_v3(mv);
    for (int64_t t = p; t < n; t++) {
        max = s[t] > max ? s[t] : max;
    }
    const __m256 top = _mm256_set1_ps(max);
    __m256 sum = _mm256_setzero_ps();
    for (p = 0; p + 8 <= n; p += 8) {
        __m256 e = exp8_v3(_mm256_sub_ps(_mm256_loadu_ps(s + p), top));
        sum = _mm256_add_ps(sum, e);
        _mm256_storeu_ps(s + p, e);
    }
    float total = hsum8_v3(sum);
    if (p < n) {
        float tail[8];
        for (int t = 0; t < 8; t++) {
            tail[t] = p + t < n ? s[p + t] - max : 0.0f;
        }
        _mm256_storeu_ps(tail, exp8_v3(_mm256_loadu_ps(tail)));
        for (int t = 0; p + t < n; t++) {
            s[p + t] = tail[t];
            total += tail[t];
        }
    }
    const __m256 inverse = _mm256_set1_ps(1.0f / total);
    for (p = 0; p + 8 <= n; p += 8) {
        _mm256_storeu_ps(s + p, _mm256_mul_ps(_mm256_loadu_ps(s + p), inverse));
    }
    for (; p < n; p++) {
        s[p] *= 1.0f / total;
    }
}

#endif

/*
 * The AVX-512 kernel's scores for P of 1 or 2 query rows (16 registers: two rows by four positions), key rows
 * d floats apart, d a multiple of 16; with the same prefetches.
 */
static inline __attribute__((always_inline)) void A(scores_rows)(const float *const q[], const int P,
        const KV *key, const KV *value, int64_t n, int64_t d, float scale, float *const s[]) {
    int64_t p = 0;
    for (; p + 4 <= n; p += 4) {
        for (int64_t j = 0; j < 4 * d; j += KV_LINE) {
            _mm_prefetch((const char *) (key + (p + 16) * d + j), _MM_HINT_T0);
            _mm_prefetch((const char *) (value + p * d + j), _MM_HINT_T0);
        }
        __m256 acc[2][4];
        for (int i = 0; i < P; i++) {
            for (int r = 0; r < 4; r++) {
                acc[i][r] = _mm256_setzero_ps();
            }
        }
        for (int64_t j = 0; j < d; j += 8) {
            __m256 kv[4];
            for (int r = 0; r < 4; r++) {
                kv[r] = KV_LOAD8(key + (p + r) * d + j);
            }
            for (int i = 0; i < P; i++) {
                __m256 qv = _mm256_loadu_ps(q[i] + j);
                for (int r = 0; r < 4; r++) {
                    acc[i][r] = _mm256_fmadd_ps(qv, kv[r], acc[i][r]);
                }
            }
        }
        for (int i = 0; i < P; i++) {
            _mm_storeu_ps(s[i] + p, _mm_mul_ps(sum4_v3(acc[i][0], acc[i][1], acc[i][2], acc[i][3]),
                                               _mm_set1_ps(scale)));
        }
    }
    for (; p < n; p++) {
        for (int i = 0; i < P; i++) {
            __m256 acc = _mm256_setzero_ps();
            for (int64_t j = 0; j < d; j += 8) {
                acc = _mm256_fmadd_ps(_mm256_loadu_ps(q[i] + j), KV_LOAD8(key + p * d + j), acc);
            }
            s[i][p] = scale * hsum8_v3(acc);
        }
    }
}

/* The query rows two at a time (AVX2 has 16 vector registers): a tile of four reads its keys twice, from cache. */
static void A(scores)(const float *const q[], int P, const KV *key, const KV *value, int64_t n, int64_t d,
                      float scale, float *const s[]) {
    for (int i = 0; i < P; i += 2) {
        if (P - i == 1) {
            A(scores_rows)(q + i, 1, key, value, n, d, scale, s + i);
        } else {
            A(scores_rows)(q + i, 2, key, value, n, d, scale, s + i);
        }
    }
}

/* out[i] = sum over p < n of s[i][p] * value[p] for P of 1 or 2 rows; W (2 or 4) vectors of 8 floats at a time. */
static inline __attribute__((always_inline)) void A(mix_rows)(float *const s[], const int P, const KV *value,
        int64_t n, int64_t d, float *const out[], const int W) {
    for (int64_t j = 0; j < d; j += 8 * W) {
        __m256 acc[2][4];
        for (int i = 0; i < P; i++) {
            for (int w = 0; w < W; w++) {
                acc[i][w] = _mm256_setzero_ps();
            }
        }
        for (int64_t p = 0; p < n; p++) {
            for (int64_t at = 0; at < 8 * W; at += KV_LINE) { /* this row's values 16 positions ahead */
                _mm_prefetch((const char *) (value + (p + 16) * d + j + at), _MM_HINT_T0);
            }
            __m256 vv[4];
            for (int w = 0; w < W; w++) {
                vv[w] = KV_LOAD8(value + p * d + j + 8 * w);
            }
            for (int i = 0; i < P; i++) {
                __m256 weight = _mm256_set1_ps(s[i][p]);
                for (int w = 0; w < W; w++) {
                    acc[i][w] = _mm256_fmadd_ps(weight, vv[w], acc[i][w]);
                }
            }
        }
        for (int i = 0; i < P; i++) {
            for (int w = 0; w < W; w++) {
                _mm256_storeu_ps(out[i] + j + 8 * w, acc[i][w]);
            }
        }
    }
}

#define MIX_ROWS(P) (d % 32 == 0 ? A(mix_rows)(s + i, P, value, n, d, out + i, 4) \
                                 : A(mix_rows)(s + i, P, value, n, d, out + i, 2))
static void A(mix)(float *const s[], int P, const KV *value, int64_t n, int64_t d, float *const out[]) {
    for (int i = 0; i < P; i += 2) {
        if (P - i == 1) {
            MIX_ROWS(1);
        } else {
            MIX_ROWS(2);
        }
    }
}
#undef MIX_ROWS
#undef KV_LOAD8

#else
#define A(name) KV_CAT(name##_generic, KV_SUFFIX)
#define S(name) name##_generic

static inline __attribute__((always_inline)) void A(store_row)(KV *to, const float *from, int64_t d) {
    for (int64_t j = 0; j < d; j++) {
        KV_STORE(to + j, from[j]);
    }
}

static void A(scores)(const float *const q[], int P, const KV *key, const KV *value, int64_t n, int64_t d,
                      float scale, float *const s[]) {
    (void) value; /* the SIMD kernels' prefetch only */
    for (int64_t p = 0; p < n; p++) {
        for (int g = 0; g < P; g++) {
            float acc = 0;
            for (int64_t j = 0; j < d; j++) {
                acc += q[g][j] * KV_LOAD(key + p * d + j);
            }
            s[g][p] = scale * acc;
        }
    }
}

#if !ATTN_HALF
static void S(softmax)(float *s, int64_t n) {
    float max = -INFINITY, sum = 0;
    for (int64_t p = 0; p < n; p++) {
        max = s[p] > max ? s[p] : max;
    }
    for (int64_t p = 0; p < n; p++) {
        s[p] = expf(s[p] - max);
        sum += s[p];
    }
    for (int64_t p = 0; p < n; p++) {
        s[p] /= sum;
    }
}

#endif

static void A(mix)(float *const s[], int P, const KV *value, int64_t n, int64_t d, float *const out[]) {
    for (int g = 0; g < P; g++) {
        for (int64_t j = 0; j < d; j++) {
            out[g][j] = 0;
        }
        for (int64_t p = 0; p < n; p++) {
            for (int64_t j = 0; j < d; j++) {
                out[g][j] += s[g][p] * KV_LOAD(value + p * d + j);
            }
        }
    }
}
#endif

/*
 * One KV head of one batch row: the new tokens' keys and values (keys rotated) into the cache at positions
 * past .. past + s - 1, then each new token's G query heads (rotated) attend to positions 0 .. its own.
 */
static void A(attend_head)(const AttnCall *c, int64_t row, int64_t kvh) {
    const int64_t d = c->head_dim, half = d / 2, s = c->new_tokens, G = c->heads / c->kv_heads;
    const int64_t past = c->past[row];
    const int64_t at = (row * c->kv_heads + kvh) * c->max_len * d;
    KV *key = (KV *) c->present_key + at;
    KV *value = (KV *) c->present_value + at;
    if (c->copy_keys) {
        memcpy(key, (const KV *) c->past_key + at, (size_t) (past * d) * sizeof(KV));
    }
    if (c->copy_values) {
        memcpy(value, (const KV *) c->past_value + at, (size_t) (past * d) * sizeof(KV));
    }
    float *qr = c->scratch + (row * c->kv_heads + kvh) * c->scratch_per_task;
    for (int64_t t = 0; t < s; t++) {
        const float *kn = c->k + (row * s + t) * c->ldk + kvh * d;
        const float *cos = c->cos + (past + t) * half, *sin = c->sin + (past + t) * half;
        const float *vn = c->v + (row * s + t) * c->ldv + kvh * d;
        KV *kd = key + (past + t) * d, *vd = value + (past + t) * d;
        S(norm_rotate)(kn, c->k_norm, c->epsilon, cos, sin, d, qr);
        A(store_row)(kd, qr, d);
        A(store_row)(vd, vn, d);
    }
    /*
     * The query rows, (token, head) pairs, four at a time: the G heads of ATTN_TILE / G tokens (or of one token
     * when G > ATTN_TILE) share each key and value load. A row's scores run to the last row's length; past its
     * own (the later tokens' positions) its weights are zero.
     */
    float *sc = qr + ATTN_TILE * d;
    const int64_t rows = s * G;
    for (int64_t first = 0; first < rows; first += ATTN_TILE) {
        const int P = rows - first < ATTN_TILE ? (int) (rows - first) : ATTN_TILE;
        const float *q[ATTN_TILE];
        float *sp[ATTN_TILE], *out[ATTN_TILE];
        int64_t n[ATTN_TILE], longest = 0;
        for (int i = 0; i < P; i++) {
            const int64_t t = (first + i) / G, h = kvh * G + (first + i) % G, pos = past + t;
            const float *cos = c->cos + pos * half, *sin = c->sin + pos * half;
            const float *qn = c->q + (row * s + t) * c->ldq + h * d;
            float *qd = qr + i * d;
            S(norm_rotate)(qn, c->q_norm, c->epsilon, cos, sin, d, qd);
            q[i] = qd;
            sp[i] = sc + i * c->longest;
            out[i] = c->out + ((row * s + t) * c->heads + h) * d;
            n[i] = pos + 1;
            longest = n[i] > longest ? n[i] : longest;
        }
        A(scores)(q, P, key, value, longest, d, c->scale, sp);
        for (int i = 0; i < P; i++) {
            S(softmax)(sp[i], n[i]);
            memset(sp[i] + n[i], 0, (size_t) (longest - n[i]) * sizeof(float));
        }
        A(mix)(sp, P, value, longest, d, out);
    }
}

#undef A
#undef S
#undef KV_LOAD
#undef KV_STORE
#undef KV_LINE
#undef KV_SUFFIX
#undef KV
