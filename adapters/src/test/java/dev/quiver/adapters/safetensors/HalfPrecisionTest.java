package dev.quiver.adapters.safetensors;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** DType's fp16 conversions against the format's definition, on every half and every tie between two. */
class HalfPrecisionTest {
    /** The value of binary16 bits {@code h}, decoded by the format's definition. */
    static float fromHalf(short h) {
        boolean negative = (h & 0x8000) != 0;
        int exp = (h >>> 10) & 0x1f;
        int mant = h & 0x3ff;
        float magnitude;
        if (exp == 0x1f) {
            magnitude = mant == 0 ? Float.POSITIVE_INFINITY : Float.NaN;
        } else {
            magnitude = exp == 0 ? mant * 0x1p-24f : (1 + mant / 1024f) * (float) Math.pow(2, exp - 15);
        }
        return negative ? -magnitude : magnitude;
    }

    @Test
    void widensEveryHalfAsTheFormatDefinesIt() {
        for (int bits = 0; bits < 1 << 16; bits++) {
            float f = fromHalf((short) bits);
            if (Float.isNaN(f)) {
                assertThat(DType.f16ToFloat((short) bits)).isNaN();
            } else {
                assertThat(Float.floatToRawIntBits(DType.f16ToFloat((short) bits))).as("0x%04x", bits)
                        .isEqualTo(Float.floatToRawIntBits(f));
            }
        }
    }

    @Test
    void everyHalfSurvivesTheRoundTrip() {
        for (int bits = 0; bits < 1 << 16; bits++) {
            float f = fromHalf((short) bits);
            if (Float.isNaN(f)) {
                assertThat(Float.isNaN(fromHalf(DType.floatToF16(f)))).isTrue();
            } else {
                assertThat(DType.floatToF16(f)).as("0x%04x", bits).isEqualTo((short) bits);
            }
        }
    }

    @Test
    void floatsBetweenHalvesRoundToTheNearestAndTiesToEven() {
        for (int bits = 0; bits < 0x7bff; bits++) { // positive finite halves and the next one up
            float low = fromHalf((short) bits);
            float high = fromHalf((short) (bits + 1));
            float mid = (low + high) / 2; // exact in float: halves have 11 significant bits
            short even = (short) ((bits & 1) == 0 ? bits : bits + 1);
            assertThat(DType.floatToF16(mid)).as("tie above 0x%04x", bits).isEqualTo(even);
            assertThat(DType.floatToF16(Math.nextDown(mid))).isEqualTo((short) bits);
            assertThat(DType.floatToF16(Math.nextUp(mid))).isEqualTo((short) (bits + 1));
            assertThat(DType.floatToF16(-Math.nextUp(mid))).isEqualTo((short) (0x8000 | (bits + 1)));
        }
    }

    @Test
    void valuesBeyondTheRangeOverflowOrUnderflow() {
        assertThat(DType.floatToF16(1f)).isEqualTo((short) 0x3c00);
        assertThat(DType.floatToF16(65504f)).isEqualTo((short) 0x7bff);
        assertThat(DType.floatToF16(65520f)).isEqualTo((short) 0x7c00); // rounds up past the largest half
        assertThat(DType.floatToF16(1e10f)).isEqualTo((short) 0x7c00);
        assertThat(DType.floatToF16(-1e10f)).isEqualTo((short) 0xfc00);
        assertThat(DType.floatToF16(0x1p-25f)).isEqualTo((short) 0); // half the smallest subnormal: tie to 0
        assertThat(DType.floatToF16(Math.nextUp(0x1p-25f))).isEqualTo((short) 1);
        assertThat(DType.floatToF16(1e-10f)).isEqualTo((short) 0);
        assertThat(DType.floatToF16(-0f)).isEqualTo((short) 0x8000);
    }
}
