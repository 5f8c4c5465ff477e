/*
 * The MultiLora kernels, included once per instruction set by multi_lora.c, which defines for the set:
 * K(name), each function's name with the set's suffix; VF, a vector of LANES floats (one register on v4 and v3;
 * baseline x86-64 splits it into four); HALVES(p), LANES fp16 values at p as floats with the set's best
 * instructions; MADD(c, a, b), c + a * b (fused where the set has FMA: the library is built as ISO C, so the
 * compiler fuses nothing itself); and POOL_ROWS, the pool rows a shrink tile multiplies at once (on v4 and v3, as
 * many as their registers hold beside the token rows').
 */

/* LANES pool values from element i of p as floats: fp16 when half, else fp32. */
static inline __attribute__((always_inline)) VF K(loadv)(const void *p, int64_t i, const int half) {
    return half ? HALVES((const uint16_t *) p + i) : *(const VF *) ((const float *) p + i);
}

static inline __attribute__((always_inline)) VF K(splat)(float v) {
    VF r;
    for (int j = 0; j < LANES; j++) {
        r[j] = v;
    }
    return r;
}

static inline __attribute__((always_inline)) float K(sumv)(VF v) {
    float s = 0;
    for (int j = 0; j < LANES; j++) {
        s += v[j];
    }
    return s;
}

/*
 * h[i * rank + r] = m[i][r] * (x[i] . a[r]) for rows i < n (n <= ROWS, unused x[i] point at a used row):
 * POOL_ROWS pool rows at a time against the ROWS token rows, so each load of x feeds POOL_ROWS multiply-adds and
 * each load of a feeds n.
 */
static inline __attribute__((always_inline)) void K(shrink_rows)(const float *const x[ROWS],
        const float *const m[ROWS], const int n, const void *a, int64_t rank, int64_t in, float *h,
        const int half) {
    int64_t r = 0;
    for (; r + POOL_ROWS <= rank; r += POOL_ROWS) {
        VF acc[ROWS][POOL_ROWS] = {{{0}}};
        int64_t k = 0;
        for (; k + LANES <= in; k += LANES) {
            VF xv[ROWS];
            for (int i = 0; i < n; i++) {
                xv[i] = *(const VF *) (x[i] + k);
            }
            for (int q = 0; q < POOL_ROWS; q++) {
                __builtin_prefetch(at(a, (r + q) * in + k + PREFETCH, half));
                VF av = K(loadv)(a, (r + q) * in + k, half);
                for (int i = 0; i < n; i++) {
                    acc[i][q] = MADD(acc[i][q], xv[i], av);
                }
            }
        }
        for (int i = 0; i < n; i++) {
            for (int q = 0; q < POOL_ROWS; q++) {
                float d = K(sumv)(acc[i][q]);
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
static inline __attribute__((always_inline)) void K(expand_rows)(float *const y[ROWS], const int n,
        const float *h, const void *b, int64_t rank, int64_t out, int64_t from, int64_t to, const int half) {
    int64_t o = from;
    for (; o + LANES <= to; o += LANES) {
        VF acc[ROWS];
        for (int i = 0; i < n; i++) {
            acc[i] = *(const VF *) (y[i] + o);
        }
        for (int64_t r = 0; r < rank; r++) {
            VF bv = K(loadv)(b, r * out + o, half);
            for (int i = 0; i < n; i++) {
                acc[i] = MADD(acc[i], bv, K(splat)(h[i * rank + r]));
            }
        }
        for (int i = 0; i < n; i++) {
            *(VF *) (y[i] + o) = acc[i];
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
static inline __attribute__((always_inline)) void K(stream_rows)(float *const y[ROWS], const int n,
        const float *h, const void *b, int64_t rank, int64_t out, int64_t from, int64_t to, const int half) {
    for (int64_t r = 0; r < rank; r++) {
        const void *br = at(b, r * out, half);
        float hr[ROWS];
        for (int i = 0; i < n; i++) {
            hr[i] = h[i * rank + r];
        }
        int64_t o = from;
        for (; o + LANES <= to; o += LANES) {
            __builtin_prefetch(at(br, o + PREFETCH, half));
            VF bv = K(loadv)(br, o, half);
            for (int i = 0; i < n; i++) {
                *(VF *) (y[i] + o) = MADD(*(const VF *) (y[i] + o), bv, K(splat)(hr[i]));
            }
        }
        for (; o < to; o++) {
            for (int i = 0; i < n; i++) {
                y[i][o] += hr[i] * load1(br, o, half);
            }
        }
    }
}

/* The kernels above for a constant row count and pool type (BY_TYPE), so their loops unroll. */
static void K(shrink)(const float *const x[ROWS], const float *const m[ROWS], int n, const void *a,
                          int64_t rank, int64_t in, float *h, int half) {
#define SHRINK(N, H) K(shrink_rows)(x, m, N, a, rank, in, h, H)
    BY_TYPE(SHRINK)
#undef SHRINK
}

static void K(expand)(float *const y[ROWS], int n, const float *h, const void *b, int64_t rank,
                          int64_t out, int64_t from, int64_t to, int half) {
#define EXPAND(N, H) K(expand_rows)(y, N, h, b, rank, out, from, to, H)
    BY_TYPE(EXPAND)
#undef EXPAND
}

static void K(stream)(float *const y[ROWS], int n, const float *h, const void *b, int64_t rank,
                          int64_t out, int64_t from, int64_t to, int half) {
#define STREAM(N, H) K(stream_rows)(y, N, h, b, rank, out, from, to, H)
    BY_TYPE(STREAM)
#undef STREAM
}

