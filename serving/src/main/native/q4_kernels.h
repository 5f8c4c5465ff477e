/*
 * The MatMulQ4 kernels for AVX-512 VNNI, blocks of 32, included once by matmul_q.c under that target. The weight
 * is 4-bit codes in row groups (QCall): a group's block is 64 bytes, row j's 16 in 128-bit lane j, byte t holding
 * the codes of columns t (low nibble) and t + 16 (high). So the low nibbles of the 64 bytes are columns 0 .. 15
 * of the four rows and the high ones columns 16 .. 31: each is multiplied by the activations' 16 codes repeated
 * in every lane, and vpdpbusd's four sums per row stay in their lane until the tile ends. Each row and block
 * dequantizes as code * d + m (fp16 d and m, as llama.cpp's Q4_1), so a block adds
 * d * x_scale * (codes . x_codes) + m * x_scale * sum(x_codes); the second term is the row's one lane in mv.
 */

/* y[m0 + i][n0 + j] for i < mt (1 .. 4) and j < 4 (row group n0 / 4). */
static inline __attribute__((always_inline)) void q4_tile_vnni(const QCall *c, int64_t m0, const int mt,
                                                              int64_t n0) {
    __m512 acc[4];
    for (int i = 0; i < mt; i++) {
        acc[i] = _mm512_setzero_ps();
    }
    const int64_t row = c->blocks * 32;
    const uint8_t *w = c->b + n0 / 4 * c->blocks * 64;
    const uint16_t *dm = c->dm + n0 / 4 * c->blocks * 8;
    const __m512i low = _mm512_set1_epi8(0x0f);
    const __m512i spread = _mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0); /* d_j to lane j */
    const __m512i first = _mm512_set_epi32(0, 0, 0, 7, 0, 0, 0, 6, 0, 0, 0, 5, 0, 0, 0, 4);  /* m_j to its first */
    for (int64_t blk = 0; blk < c->blocks; blk++) {
        __m512i wv = _mm512_loadu_si512(w + blk * 64);
        __m512i lo = _mm512_and_si512(wv, low);
        __m512i hi = _mm512_and_si512(_mm512_srli_epi16(wv, 4), low);
        __m512 f = _mm512_castps256_ps512(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) (dm + blk * 8))));
        __m512 d = _mm512_permutexvar_ps(spread, f);
        __m512 mv = _mm512_maskz_permutexvar_ps(0x1111, first, f);
        for (int i = 0; i < mt; i++) {
            int64_t at = (m0 + i) * c->blocks + blk;
            const int8_t *xq = c->aq + (m0 + i) * row + blk * 32;
            __m512i xl = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *) xq));
            __m512i xh = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *) (xq + 16)));
            __m512i dot = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), lo, xl), hi, xh);
            acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(d, _mm512_set1_ps(c->as[at])), acc[i]);
            acc[i] = _mm512_fmadd_ps(mv, _mm512_set1_ps(c->xsum[at]), acc[i]);
        }
    }
    for (int i = 0; i < mt; i++) {
        /* each 128-bit lane's four sums, then lane j's total to output j */
        __m512 t = _mm512_add_ps(acc[i], _mm512_permute_ps(acc[i], 0x4e));
        t = _mm512_add_ps(t, _mm512_permute_ps(t, 0xb1));
        _mm_storeu_ps(c->y + (m0 + i) * c->n + n0, _mm512_castps512_ps128(_mm512_maskz_compress_ps(0x1111, t)));
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
