/*
 * The MatMulQ8 kernels for AVX-512 VNNI, included once by matmul_q.c under that target. The weight is int8
 * codes with an implied zero point of 128 and one fp32 scale per row and block, as MatMulNBits stores them, but
 * in row groups (QCall). A block's dot product with the activations' int8 codes is exact in int32: vpdpbusd
 * multiplies the unsigned codes by the signed activations, and corr (-128 times the activations' sums in each
 * lane) takes the zero point back out.
 */

/* -128 times the sums of one activation row's codes in each vpdpbusd lane, corr [blocks][16]: blocks of 64 or 128. */
static void q8_corrections_vnni(const int8_t *q, int64_t bs, int64_t blocks, int32_t *corr) {
    for (int64_t b = 0; b < blocks; b++) {
        __m512i sums = _mm512_setzero_si512();
        for (int64_t j = 0; j < bs; j += 64) {
            sums = _mm512_dpbusd_epi32(sums, _mm512_set1_epi8(1), _mm512_loadu_si512(q + b * bs + j));
        }
        _mm512_storeu_si512(corr + b * 16, _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(sums, 7)));
    }
}

/*
 * y[m0 + i][n0 + j] for i < mt (1 .. 4) and j < 4 (row group n0 / 4), over blocks of 64 * ch codes (ch 1 or 2):
 * each weight row's block is loaded once for the mt activation rows, each activation block once for the four
 * weight rows, and the group's bytes are read in order.
 */
static inline __attribute__((always_inline)) void q8_tile_vnni(const QCall *c, int64_t m0, const int mt,
                                                              int64_t n0, const int ch) {
    __m512 acc[4][4];
    for (int i = 0; i < mt; i++) {
        for (int j = 0; j < 4; j++) {
            acc[i][j] = _mm512_setzero_ps();
        }
    }
    const int64_t row = c->blocks * c->bs;
    const uint8_t *w = c->b + n0 * row;
    const float *scales = c->scales + n0 * c->blocks;
    for (int64_t blk = 0; blk < c->blocks; blk++) {
        __m512i wv[4][2];
        for (int j = 0; j < 4; j++) {
            for (int h = 0; h < ch; h++) {
                _mm_prefetch((const char *) (w + (blk * 4 + j) * c->bs + h * 64 + Q_PREFETCH), _MM_HINT_T0);
                wv[j][h] = _mm512_loadu_si512(w + (blk * 4 + j) * c->bs + h * 64);
            }
        }
        /* the four weight rows' scales times each activation row's: one multiply per row, broadcast by the fmas */
        __m128 ws = _mm_loadu_ps(scales + blk * 4);
        float prod[4][4] __attribute__((aligned(16)));
        for (int i = 0; i < mt; i++) {
            _mm_store_ps(prod[i], _mm_mul_ps(ws, _mm_set1_ps(c->as[(m0 + i) * c->blocks + blk])));
        }
        for (int i = 0; i < mt; i++) {
            int64_t at = (m0 + i) * c->blocks + blk;
            const int8_t *xq = c->aq + (m0 + i) * row + blk * c->bs;
            __m512i corr = _mm512_loadu_si512(c->corr + at * 16);
            for (int j = 0; j < 4; j++) {
                __m512i d = corr;
                for (int h = 0; h < ch; h++) {
                    d = _mm512_dpbusd_epi32(d, wv[j][h], _mm512_loadu_si512(xq + h * 64));
                }
                acc[i][j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d), _mm512_set1_ps(prod[i][j]), acc[i][j]);
            }
        }
    }
    for (int i = 0; i < mt; i++) {
        _mm_storeu_ps(c->y + (m0 + i) * c->n + n0, sum4_v4(acc[i][0], acc[i][1], acc[i][2], acc[i][3]));
    }
}

#define Q8_TILE(mt, ch) q8_tile_vnni(c, m0, mt, n0, ch)
#define Q8_BY_ROWS(ch)                            \
    switch (mt) {                                 \
        case 1: Q8_TILE(1, ch); break;            \
        case 2: Q8_TILE(2, ch); break;            \
        case 3: Q8_TILE(3, ch); break;            \
        default: Q8_TILE(4, ch); break;           \
    }

/* Output columns [from, to), whole row groups, for every activation row; blocks of 64 or 128. */
static void q8_columns_vnni(const QCall *c, int64_t from, int64_t to) {
    for (int64_t n0 = from; n0 < to; n0 += 4) {
        for (int64_t m0 = 0; m0 < c->m; m0 += 4) {
            int mt = c->m - m0 < 4 ? (int) (c->m - m0) : 4;
            if (c->bs == 64) {
                Q8_BY_ROWS(1)
            } else {
                Q8_BY_ROWS(2)
            }
        }
    }
}
#undef Q8_BY_ROWS
#undef Q8_TILE
