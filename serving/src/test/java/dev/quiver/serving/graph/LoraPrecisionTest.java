package dev.quiver.serving.graph;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class LoraPrecisionTest {
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
    void everyHalfSurvivesTheRoundTrip() {
        for (int bits = 0; bits < 1 << 16; bits++) {
            float f = fromHalf((short) bits);
            if (Float.isNaN(f)) {
                assertThat(Float.isNaN(fromHalf(LoraPrecision.toHalf(f)))).isTrue();
            } else {
                assertThat(LoraPrecision.toHalf(f)).as("0x%04x", bits).isEqualTo((short) bits);
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
            assertThat(LoraPrecision.toHalf(mid)).as("tie above 0x%04x", bits).isEqualTo(even);
            assertThat(LoraPrecision.toHalf(Math.nextDown(mid))).isEqualTo((short) bits);
            assertThat(LoraPrecision.toHalf(Math.nextUp(mid))).isEqualTo((short) (bits + 1));
            assertThat(LoraPrecision.toHalf(-Math.nextUp(mid))).isEqualTo((short) (0x8000 | (bits + 1)));
        }
    }

    @Test
    void valuesBeyondTheRangeOverflowOrUnderflow() {
        assertThat(LoraPrecision.toHalf(1f)).isEqualTo((short) 0x3c00);
        assertThat(LoraPrecision.toHalf(LoraPrecision.FP16_MAX)).isEqualTo((short) 0x7bff);
        assertThat(LoraPrecision.toHalf(65520f)).isEqualTo((short) 0x7c00); // rounds up past the largest half
        assertThat(LoraPrecision.toHalf(1e10f)).isEqualTo((short) 0x7c00);
        assertThat(LoraPrecision.toHalf(-1e10f)).isEqualTo((short) 0xfc00);
        assertThat(LoraPrecision.toHalf(0x1p-25f)).isEqualTo((short) 0); // half the smallest subnormal: tie to 0
        assertThat(LoraPrecision.toHalf(Math.nextUp(0x1p-25f))).isEqualTo((short) 1);
        assertThat(LoraPrecision.toHalf(1e-10f)).isEqualTo((short) 0);
        assertThat(LoraPrecision.toHalf(-0f)).isEqualTo((short) 0x8000);
    }
}
