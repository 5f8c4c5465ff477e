package dev.quiver.serving.constraint;

import java.util.function.Consumer;

/**
 * Splits a range of code points into UTF-8 byte-range sequences, each the product of one range per byte
 * (the method of Rust regex's {@code Utf8Sequences}): [U+0080, U+07FF] is {@code [C2-DF][80-BF]}.
 */
final class Utf8Ranges {
    private static final int[] MAX_OF_LENGTH = {0x7F, 0x7FF, 0xFFFF, 0x10FFFF};

    private Utf8Ranges() {
    }

    /** Calls {@code out} with each sequence of [lo, hi] byte ranges that together spell [{@code min}, {@code max}]. */
    static void each(int min, int max, Consumer<int[][]> out) {
        for (int n = 0, lo = min; n < MAX_OF_LENGTH.length && lo <= max; n++) {
            if (lo <= MAX_OF_LENGTH[n]) {
                int hi = Math.min(max, MAX_OF_LENGTH[n]);
                split(lo, hi, n + 1, out);
                lo = hi + 1;
            }
        }
    }

    /** [lo, hi] all encode in {@code length} bytes. */
    private static void split(int lo, int hi, int length, Consumer<int[][]> out) {
        for (int i = 1; i < length; i++) {
            int m = (1 << (6 * i)) - 1;
            if ((lo & ~m) != (hi & ~m)) {
                if ((lo & m) != 0) {
                    split(lo, lo | m, length, out);
                    split((lo | m) + 1, hi, length, out);
                    return;
                }
                if ((hi & m) != m) {
                    split(lo, (hi & ~m) - 1, length, out);
                    split(hi & ~m, hi, length, out);
                    return;
                }
            }
        }
        byte[] a = encode(lo, length);
        byte[] b = encode(hi, length);
        int[][] seq = new int[length][];
        for (int i = 0; i < length; i++) {
            seq[i] = new int[] {a[i] & 0xFF, b[i] & 0xFF};
        }
        out.accept(seq);
    }

    private static byte[] encode(int cp, int length) {
        return switch (length) {
            case 1 -> new byte[] {(byte) cp};
            case 2 -> new byte[] {(byte) (0xC0 | cp >> 6), (byte) (0x80 | cp & 0x3F)};
            case 3 -> new byte[] {(byte) (0xE0 | cp >> 12), (byte) (0x80 | cp >> 6 & 0x3F), (byte) (0x80 | cp & 0x3F)};
            default -> new byte[] {(byte) (0xF0 | cp >> 18), (byte) (0x80 | cp >> 12 & 0x3F),
                    (byte) (0x80 | cp >> 6 & 0x3F), (byte) (0x80 | cp & 0x3F)};
        };
    }
}
