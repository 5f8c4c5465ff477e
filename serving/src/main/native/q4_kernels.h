/*
 * The MatMulQ4 kernels for AVX-512 VNNI, blocks of 32, included once by matmul_q.c under that target. The weight
 * is 4-bit codes in row groups (QCall): a group's block is 64 bytes, row j's 16 in 128-bit lane j, byte t holding
 * the codes of columns t (low nibble) and t + 16 (high). So the low nibbles of the 64 bytes are columns 0 .. 15
 * of the four rows and the high ones columns 16 .. 31: each is multiplied by the activations' 16 codes repeated
 * in every lane, and vpdpbusd's four sums per row stay in their lane until the tile ends. Each row and block
 * dequantizes as code * d + m (fp16 d and m, as llama.cpp's Q4_1), so a block adds
 * d * x_scale * (codes . x_codes) + m * x_scale * sum(x_codes). The second terms of a tile's 4 x 4 outputs are
 * one vector: the group's four m repeated for each activation row, times xsum's lanes (QCall).
 */

/* One block of the tile below into the accumulators acc (one per activation row) and accm. */
static inline __attribute__((always_inline)) void q4_block_vnni(const QCall *c, int64_t m0, const int mt,
                                                               int64_t blk, const uint8_t *w, const uint16_t *dm,
                                                               const float *xsum, __m512 *acc, __m512 *accm) {
    const __m512i low = _mm512_set1_epi8(0x0f);
    const __m512i spread = _mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0); /* d_j to lane j */
    const __m512i repeat = _mm512_set_epi32(7, 6, 5, 4, 7, 6, 5, 4, 7, 6, 5, 4, 7, 6, 5, 4); /* m_j, per row */
    _mm_prefetch((const char *) (w + blk * 64 + Q_PREFETCH), _MM_HINT_T0);
    if ((blk & 3) == 0) {
        _mm_prefetch((const char *) (dm + blk * 8 + Q_PREFETCH / 8), _MM_HINT_T0);
    }
    __m512i wv = _mm512_loadu_si512(w + blk * 64);
    __m512i lo = _mm512_and_si512(wv, low);
    __m512i hi = _mm512_and_si512(_mm512_srli_epi16(wv, 4), low);
    __m512 f = _mm512_castps256_ps512(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) (dm + blk * 8))));
    __m512 d = _mm512_permutexvar_ps(spread, f);
    *accm = _mm512_fmadd_ps(_mm512_permutexvar_ps(repeat, f), _mm512_loadu_ps(xsum + blk * 16), *accm);
    const int64_t row = c->blocks * 32;
    for (int i = 0; i < mt; i++) {
        const int8_t *xq = c->aq + (m0 + i) * row + blk * 32;
        __m512i xl = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *) xq));
        __m512i xh = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *) (xq + 16)));
        __m512i dot = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), lo, xl), hi, xh);
        acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot),
                                 _mm512_mul_ps(d, _mm512_set1_ps(c->as[(m0 + i) * c->blocks + blk])), acc[i]);
    }
}

/*
 * y[m0 + i][n0 + j] for i < mt (1 .. 4) and j < 4 (row group n0 / 4). Blocks alternate between two sets of
 * accumulators, so that at one activation row the additions of one block need not wait for the last block's.
 */
static inline __attribute__((always_inline)) void q4_tile_vnni(const QCall *c, int64_t m0, const int mt,
                                                              int64_t n0) {
    __m512 acc[2][4], accm[2] = {_mm512_setzero_ps(), _mm512_setzero_ps()};
    for (int i = 0; i < mt; i++) {
        acc[0][i] = acc[1][i] = _mm512_setzero_ps();
    }
    const uint8_t *w = c->b + n0 / 4 * c->blocks * 64;
    const uint16_t *dm = c->dm + n0 / 4 * c->blocks * 8;
    const float *xsum = c->xsum + m0 / 4 * c->blocks * 16;
    int64_t blk = 0;
    for (; blk + 1 < c->blocks; blk += 2) {
        q4_block_vnni(c, m0, mt, blk, w, dm, xsum, acc[0], &accm[0]);
        q4_block_vnni(c, m0, mt, blk + 1, w, dm, xsum, acc[1], &accm[1]);
    }
    if (blk < c->blocks) {
        q4_block_vnni(c, m0, mt, blk, w, dm, xsum, acc[0], &accm[0]);
    }
    float mins[16];
    _mm512_storeu_ps(mins, _mm512_add_ps(accm[0], accm[1]));
    for (int i = 0; i < mt; i++) {
        /* each 128-bit lane's four sums, then lane j's total to output j, plus row i's m terms */
        __m512 a = _mm512_add_ps(acc[0][i], acc[1][i]);
        __m512 t = _mm512_add_ps(a, _mm512_permute_ps(a, 0x4e));
        t = _mm512_add_ps(t, _mm512_permute_ps(t, 0xb1));
        __m128 sums = _mm512_castps512_ps128(_mm512_maskz_compress_ps(0x1111, t));
        _mm_storeu_ps(c->y + (m0 + i) * c->n + n0, _mm_add_ps(sums, _mm_loadu_ps(mins + 4 * i)));
    }
}

/* Output columns [from, to), whole row groups, for every activation row. */
static void q4_columns_vnni(const QCall *c, int64_t from, int64_t to) {
    for (int64_t n0 = from; n0 < to; n0 += 4) {
        for (int64_t m0 = 0; m0 < c->m; m0 += 4) {
            switch (c->m - m0 < 4 ? (int) (c->m - m0) : 4) {
                case 1: q4_tile_vnni(c, m0, 1, n0); break;
                case 2: q4_tile_vnni(c, m0, 2, n0); break;
                case 3: q4_tile_vnni(c, m0, 3, n0); break;
                default: q4_tile_vnni(c, m0, 4, n0); break;
            }
        }
    }
}
