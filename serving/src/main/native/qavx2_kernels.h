/*
 * The MatMulQ8 and MatMulQ4 kernels for AVX2 (x86-64-v3: AVX2, FMA, F16C), included once by matmul_q.c under that
 * target, for CPUs without AVX-512 VNNI. The codes and scales are the VNNI kernels' (QCall); AVX2 has no vpdpbusd,
 * so a block's dot product is vpmaddubsw (unsigned by signed bytes, pairs summed to int16) then vpmaddwd by ones
 * (pairs to int32), exact in int32 as long as no int16 pair sum saturates:
 * - int8: the codes less 128 are signed; vpmaddubsw takes their magnitude (at most 128) and the activations' codes
 *   (-127 .. 127, NaN included, as the quantizer below writes them) with the weight's sign, so a pair sums to at
 *   most 2 * 128 * 127 = 32512;
 * - int4: the codes (0 .. 15) are unsigned as they are, a pair at most 2 * 15 * 127.
 * AVX2 has 16 vector registers: a tile is four weight rows (one row group) by one or two activation rows.
 */

/* One row of activations to int8 codes q [blocks * bs] (zero past k) and scales s [blocks]; bs a multiple of 32. */
static void quantize_row_avx2(const float *x, int64_t k, int64_t bs, int64_t blocks, int8_t *q, float *s) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7); /* the two packs' lanes back in column order */
    const __m256i lowest = _mm256_set1_epi8(-127);
    for (int64_t b = 0; b < blocks; b++) {
        int64_t from = b * bs, len = k - from < bs ? k - from : bs, j = 0;
        __m256 max = _mm256_setzero_ps();
        for (; j + 8 <= len; j += 8) {
            /* maxps returns its second operand when either is NaN: NaNs never reach the scale, as in the portable
               kernel */
            max = _mm256_max_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(x + from + j)), max);
        }
        __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(max), _mm256_extractf128_ps(max, 1));
        m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
        float amax = _mm_cvtss_f32(_mm_max_ss(m4, _mm_shuffle_ps(m4, m4, 1)));
        for (; j < len; j++) {
            float v = x[from + j] < 0 ? -x[from + j] : x[from + j];
            amax = v > amax ? v : amax;
        }
        amax = amax >= Q8_SMALLEST ? amax : 0.0f; /* below it, 127 / amax overflows: the block counts as zero */
        s[b] = amax / 127.0f;
        float inverse = amax > 0 ? 127.0f / amax : 0.0f;
        __m256 scale = _mm256_set1_ps(inverse);
        for (j = 0; j < bs; j += 32) {
            if (j + 32 <= len) {
                const float *p = x + from + j;
                __m256i c0 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(p), scale));
                __m256i c1 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(p + 8), scale));
                __m256i c2 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(p + 16), scale));
                __m256i c3 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(p + 24), scale));
                __m256i packed = _mm256_packs_epi16(_mm256_packs_epi32(c0, c1), _mm256_packs_epi32(c2, c3));
                /* a NaN converts to INT_MIN and packs to -128: -127 as in the portable kernel, and no code of -128
                   reaches vpsignb, which cannot negate it */
                packed = _mm256_max_epi8(packed, lowest);
                _mm256_storeu_si256((__m256i *) (q + from + j), _mm256_permutevar8x32_epi32(packed, order));
            } else {
                for (int64_t t = j; t < j + 32; t++) { /* the padded last block: as the portable kernel */
                    float v = t < len ? rintf(x[from + t] * inverse) : 0.0f;
                    q[from + t] = (int8_t) (v > 127.0f ? 127.0f : v >= -127.0f ? v : -127.0f);
                }
            }
        }
    }
}

/* h [m, k] = silu(gate) * up for rows of a [m, 2k], gate then up: SwiGLU's product (swiglu_vnni's, 8 wide). */
static void swiglu_avx2(const float *a, int64_t m, int64_t k, float *h) {
    const __m256 one = _mm256_set1_ps(1.0f), sign = _mm256_set1_ps(-0.0f), zero = _mm256_setzero_ps();
    const __m256 lowest = _mm256_set1_ps(-88.0f);
    for (int64_t i = 0; i < m; i++) {
        const float *gate = a + i * 2 * k, *up = gate + k;
        int64_t j = 0;
        for (; j + 8 <= k; j += 8) {
            __m256 g = _mm256_loadu_ps(gate + j);
            __m256 e = exp8_v3(_mm256_or_ps(g, sign)); /* e^-|g| */
            __m256 negative = _mm256_cmp_ps(g, zero, _CMP_LT_OQ);
            __m256 sigmoid = _mm256_div_ps(_mm256_blendv_ps(one, e, negative), _mm256_add_ps(one, e));
            sigmoid = _mm256_and_ps(sigmoid, _mm256_cmp_ps(g, lowest, _CMP_NLT_UQ));
            _mm256_storeu_ps(h + i * k + j, _mm256_mul_ps(_mm256_mul_ps(g, sigmoid), _mm256_loadu_ps(up + j)));
        }
        for (; j < k; j++) {
            h[i * k + j] = gate[j] / (1.0f + expf(-gate[j])) * up[j];
        }
    }
}

/*
 * y[m0 + i][n0 + j] for i < mt (1 or 2) and j < 4 (row group n0 / 4), over blocks of 32 * chunks codes (chunks a
 * constant where the caller can make it one, so that the loop over a block unrolls).
 */
static inline __attribute__((always_inline)) void q8_tile_avx2(const QCall *c, int64_t m0, const int mt, int64_t n0,
                                                              const int64_t chunks) {
    const __m256i flip = _mm256_set1_epi8((char) 0x80), ones = _mm256_set1_epi16(1);
    __m256 acc[2][4];
    for (int i = 0; i < mt; i++) {
        for (int j = 0; j < 4; j++) {
            acc[i][j] = _mm256_setzero_ps();
        }
    }
    const int64_t row = c->blocks * c->bs;
    const uint8_t *w = c->b + n0 * row;
    const float *scales = c->scales + n0 * c->blocks;
    for (int64_t blk = 0; blk < c->blocks; blk++) {
        for (int j = 0; j < 4; j++) {
            const uint8_t *wr = w + (blk * 4 + j) * c->bs;
            __m256i d[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()};
            for (int64_t h = 0; h < chunks * 32; h += 32) {
                if ((h & 63) == 0) {
                    _mm_prefetch((const char *) (wr + h + Q_PREFETCH), _MM_HINT_T0);
                }
                __m256i ws = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *) (wr + h)), flip);
                __m256i magnitude = _mm256_abs_epi8(ws);
                for (int i = 0; i < mt; i++) {
                    __m256i xq = _mm256_loadu_si256((const __m256i *) (c->aq + (m0 + i) * row + blk * c->bs + h));
                    __m256i pairs = _mm256_maddubs_epi16(magnitude, _mm256_sign_epi8(xq, ws));
                    d[i] = _mm256_add_epi32(d[i], _mm256_madd_epi16(pairs, ones));
                }
            }
            for (int i = 0; i < mt; i++) {
                float scale = scales[blk * 4 + j] * c->as[(m0 + i) * c->blocks + blk];
                acc[i][j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(d[i]), _mm256_set1_ps(scale), acc[i][j]);
            }
        }
    }
    for (int i = 0; i < mt; i++) {
        _mm_storeu_ps(c->y + (m0 + i) * c->n + n0, sum4_v3(acc[i][0], acc[i][1], acc[i][2], acc[i][3]));
    }
}

#define Q8_TILES_AVX2(chunks)                                   \
    for (int64_t n0 = from; n0 < to; n0 += 4) {                 \
        for (int64_t m0 = 0; m0 < c->m; m0 += 2) {              \
            if (c->m - m0 == 1) {                               \
                q8_tile_avx2(c, m0, 1, n0, chunks);             \
            } else {                                            \
                q8_tile_avx2(c, m0, 2, n0, chunks);             \
            }                                                   \
        }                                                       \
    }

/* Output columns [from, to), whole row groups, for every activation row. */
static void q8_columns_avx2(const QCall *c, int64_t from, int64_t to) {
    switch (c->bs) {
        case 32: Q8_TILES_AVX2(1) break;
        case 64: Q8_TILES_AVX2(2) break;
        case 128: Q8_TILES_AVX2(4) break;
        default: Q8_TILES_AVX2(c->bs / 32) break;
    }
}
#undef Q8_TILES_AVX2

/*
 * The same for int4 in blocks of 32: a group's block is 64 bytes, row j's 16 at byte 16 j, byte t holding the codes
 * of columns t (low nibble) and t + 16 (high). A 256-bit load holds two rows, one per 128-bit lane: their low
 * nibbles times the activations' codes of columns 0 .. 15 (repeated in both lanes) plus their high nibbles times
 * those of columns 16 .. 31 leave four int32 sums per row in its lane. A value is code * d + m (QCall): the m terms
 * are m times the activations' scaled sums (xsum).
 */
static inline __attribute__((always_inline)) void q4_tile_avx2(const QCall *c, int64_t m0, const int mt, int64_t n0) {
    const __m256i low = _mm256_set1_epi8(0x0f), ones = _mm256_set1_epi16(1);
    const __m256i d01 = _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1), d23 = _mm256_setr_epi32(2, 2, 2, 2, 3, 3, 3, 3);
    __m256 acc[2][2];
    __m128 accm[2];
    for (int i = 0; i < mt; i++) {
        acc[i][0] = acc[i][1] = _mm256_setzero_ps();
        accm[i] = _mm_setzero_ps();
    }
    const uint8_t *w = c->b + n0 / 4 * c->blocks * 64;
    const uint16_t *dm = c->dm + n0 / 4 * c->blocks * 8;
    const int64_t row = c->blocks * 32;
    for (int64_t blk = 0; blk < c->blocks; blk++) {
        _mm_prefetch((const char *) (w + blk * 64 + Q_PREFETCH), _MM_HINT_T0);
        if ((blk & 3) == 0) {
            _mm_prefetch((const char *) (dm + blk * 8 + Q_PREFETCH / 8), _MM_HINT_T0);
        }
        __m256i w01 = _mm256_loadu_si256((const __m256i *) (w + blk * 64));
        __m256i w23 = _mm256_loadu_si256((const __m256i *) (w + blk * 64 + 32));
        __m256i lo01 = _mm256_and_si256(w01, low), hi01 = _mm256_and_si256(_mm256_srli_epi16(w01, 4), low);
        __m256i lo23 = _mm256_and_si256(w23, low), hi23 = _mm256_and_si256(_mm256_srli_epi16(w23, 4), low);
        __m256 f = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) (dm + blk * 8))); /* d0 .. d3, m0 .. m3 */
        __m256 dv01 = _mm256_permutevar8x32_ps(f, d01), dv23 = _mm256_permutevar8x32_ps(f, d23);
        __m128 mv = _mm256_extractf128_ps(f, 1);
        for (int i = 0; i < mt; i++) {
            int64_t r = m0 + i;
            const int8_t *xq = c->aq + r * row + blk * 32;
            __m256i xl = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *) xq));
            __m256i xh = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *) (xq + 16)));
            __m256i s01 = _mm256_madd_epi16(
                    _mm256_add_epi16(_mm256_maddubs_epi16(lo01, xl), _mm256_maddubs_epi16(hi01, xh)), ones);
            __m256i s23 = _mm256_madd_epi16(
                    _mm256_add_epi16(_mm256_maddubs_epi16(lo23, xl), _mm256_maddubs_epi16(hi23, xh)), ones);
            __m256 xs = _mm256_set1_ps(c->as[r * c->blocks + blk]);
            acc[i][0] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s01), _mm256_mul_ps(dv01, xs), acc[i][0]);
            acc[i][1] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s23), _mm256_mul_ps(dv23, xs), acc[i][1]);
            accm[i] = _mm_fmadd_ps(mv, _mm_set1_ps(c->xsum[(r / 4 * c->blocks + blk) * 16 + r % 4 * 4]), accm[i]);
        }
    }
    for (int i = 0; i < mt; i++) {
        /* [r0 r2 r0 r2 | r1 r3 r1 r3] after two horizontal adds, rows 0 and 1 in acc[i][0]'s lanes, 2 and 3 in [1]'s */
        __m256 h = _mm256_hadd_ps(acc[i][0], acc[i][1]);
        h = _mm256_hadd_ps(h, h);
        __m128 sums = _mm_unpacklo_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
        _mm_storeu_ps(c->y + (m0 + i) * c->n + n0, _mm_add_ps(sums, accm[i]));
    }
}

/* Output columns [from, to), whole row groups, for every activation row. */
static void q4_columns_avx2(const QCall *c, int64_t from, int64_t to) {
    for (int64_t n0 = from; n0 < to; n0 += 4) {
        for (int64_t m0 = 0; m0 < c->m; m0 += 2) {
            if (c->m - m0 == 1) {
                q4_tile_avx2(c, m0, 1, n0);
            } else {
                q4_tile_avx2(c, m0, 2, n0);
            }
        }
    }
}
