package dev.quiver.serving.graph;

import java.util.Locale;

/** How the compiler stores the base model's linear weights: fp32 as loaded, or weight-only 8- or 4-bit blocks. */
public enum Quantization {
    NONE(32), INT8(8), INT4(4);

    private final int bits;

    Quantization(int bits) {
        this.bits = bits;
    }

    /** Bits per stored weight value. */
    public int bits() {
        return bits;
    }

    /** The setting's spelling in configuration and on the command line: {@code none}, {@code int8}, {@code int4}. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses {@code none|int8|int4} (any case); anything else is an error naming the accepted values. */
    public static Quantization parse(String value) {
        for (Quantization q : values()) {
            if (q.label().equalsIgnoreCase(value == null ? "" : value.trim())) {
                return q;
            }
        }
        throw new IllegalArgumentException("quantize must be one of none, int8, int4; got '" + value + "'");
    }
}
