/*
 * The Attention kernels, included by quiver_ops.c twice: under the x86-64-v4 target with ATTN_V4 defined
 * (AVX-512) and without it (portable C). A(name) suffixes each function with the set's name.
 */

#ifdef ATTN_V4
#define A(name) name##_v4

/* e^x for x <= 0 (scores minus their maximum): x = n ln 2 + r, |r| <= ln 2 / 2, a degree-6 polynomial in r. */
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
 * s[g][p] = scale * q[g] . key[p] for the g < G query heads of one KV head, positions p < n; key rows d floats
 * apart, d a multiple of 16. Four positions at a time, each key vector loaded once for the G heads.
 */
static void A(scores)(const float *const q[], int G, const float *key, int64_t n, int64_t d, float scale,
                      float *const s[]) {
    int64_t p = 0;
    for (; p + 4 <= n; p += 4) {
        for (int64_t j = 0; j < 4 * d; j += 16) { /* the rows 16 positions ahead: one cache line per 16 floats */
            _mm_prefetch((const char *) (key + (p + 16) * d + j), _MM_HINT_T0);
        }
        for (int g = 0; g < G; g++) {
            __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
            for (int64_t j = 0; j < d; j += 16) {
                __m512 qv = _mm512_loadu_ps(q[g] + j);
                for (int i = 0; i < 4; i++) {
                    acc[i] = _mm512_fmadd_ps(qv, _mm512_loadu_ps(key + (p + i) * d + j), acc[i]);
                }
            }
            _mm_storeu_ps(s[g] + p, _mm_mul_ps(sum4_v4(acc[0], acc[1], acc[2], acc[3]), _mm_set1_ps(scale)));
        }
    }
    for (; p < n; p++) {
        for (int g = 0; g < G; g++) {
            __m512 acc = _mm512_setzero_ps();
            for (int64_t j = 0; j < d; j += 16) {
                acc = _mm512_fmadd_ps(_mm512_loadu_ps(q[g] + j), _mm512_loadu_ps(key + p * d + j), acc);
            }
            s[g][p] = scale * _mm512_reduce_add_ps(acc);
        }
    }
}

/* s[0 .. n) = e^(s - max) / their sum. */
static void A(softmax)(float *s, int64_t n) {
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

/* out[g] = sum over p < n of s[g][p] * value[p], for G heads of one KV head; 16 floats of d at a time. */
static void A(mix)(float *const s[], int G, const float *value, int64_t n, int64_t d, float *const out[]) {
    for (int64_t j = 0; j < d; j += 64) {
        int w = d - j >= 64 ? 4 : (int) ((d - j) / 16);
        for (int g = 0; g < G; g++) {
            __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
            for (int64_t p = 0; p < n; p++) {
                if (g == 0) {
                    _mm_prefetch((const char *) (value + (p + 16) * d + j), _MM_HINT_T0);
                    _mm_prefetch((const char *) (value + (p + 16) * d + j + 32), _MM_HINT_T0);
                }
                __m512 weight = _mm512_set1_ps(s[g][p]);
                for (int i = 0; i < w; i++) {
                    acc[i] = _mm512_fmadd_ps(weight, _mm512_loadu_ps(value + p * d + j + 16 * i), acc[i]);
                }
            }
            for (int i = 0; i < w; i++) {
                _mm512_storeu_ps(out[g] + j + 16 * i, acc[i]);
            }
        }
    }
}

#else
#define A(name) name##_generic

static void A(scores)(const float *const q[], int G, const float *key, int64_t n, int64_t d, float scale,
                      float *const s[]) {
    for (int64_t p = 0; p < n; p++) {
        for (int g = 0; g < G; g++) {
            float acc = 0;
            for (int64_t j = 0; j < d; j++) {
                acc += q[g][j] * key[p * d + j];
            }
            s[g][p] = scale * acc;
        }
    }
}

static void A(softmax)(float *s, int64_t n) {
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

static void A(mix)(float *const s[], int G, const float *value, int64_t n, int64_t d, float *const out[]) {
    for (int g = 0; g < G; g++) {
        for (int64_t j = 0; j < d; j++) {
            out[g][j] = 0;
        }
        for (int64_t p = 0; p < n; p++) {
            for (int64_t j = 0; j < d; j++) {
                out[g][j] += s[g][p] * value[p * d + j];
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
    float *key = c->present_key + (row * c->kv_heads + kvh) * c->max_len * d;
    float *value = c->present_value + (row * c->kv_heads + kvh) * c->max_len * d;
    if (c->copy_past) {
        const int64_t at = (row * c->kv_heads + kvh) * c->max_len * d;
        memcpy(key, c->past_key + at, (size_t) (past * d) * sizeof(float));
        memcpy(value, c->past_value + at, (size_t) (past * d) * sizeof(float));
    }
    for (int64_t t = 0; t < s; t++) {
        const float *kn = c->k + ((row * s + t) * c->kv_heads + kvh) * d;
        const float *cos = c->cos + (past + t) * half, *sin = c->sin + (past + t) * half;
        float *kd = key + (past + t) * d;
        for (int64_t j = 0; j < half; j++) {
            kd[j] = kn[j] * cos[j] - kn[j + half] * sin[j];
            kd[j + half] = kn[j + half] * cos[j] + kn[j] * sin[j];
        }
        memcpy(value + (past + t) * d, c->v + ((row * s + t) * c->kv_heads + kvh) * d, (size_t) d * sizeof(float));
    }
    float *qr = c->scratch + (row * c->kv_heads + kvh) * c->scratch_per_task;
    float *sc = qr + G * d;
    const float *q[ATTN_MAX_GROUP];
    float *sp[ATTN_MAX_GROUP], *out[ATTN_MAX_GROUP];
    for (int64_t t = 0; t < s; t++) {
        const int64_t pos = past + t, n = pos + 1;
        const float *cos = c->cos + pos * half, *sin = c->sin + pos * half;
        for (int64_t g = 0; g < G; g++) {
            const int64_t h = kvh * G + g;
            const float *qn = c->q + ((row * s + t) * c->heads + h) * d;
            float *qd = qr + g * d;
            for (int64_t j = 0; j < half; j++) {
                qd[j] = qn[j] * cos[j] - qn[j + half] * sin[j];
                qd[j + half] = qn[j + half] * cos[j] + qn[j] * sin[j];
            }
            q[g] = qd;
            sp[g] = sc + g * c->max_len;
            out[g] = c->out + ((row * s + t) * c->heads + h) * d;
        }
        A(scores)(q, (int) G, key, n, d, c->scale, sp);
        for (int64_t g = 0; g < G; g++) {
            A(softmax)(sp[g], n);
        }
        A(mix)(sp, (int) G, value, n, d, out);
    }
}

#undef A
