package dev.quiver.http;

import java.util.HexFormat;
import java.util.concurrent.ThreadLocalRandom;

/** OpenAI-style object ids: a type prefix and random hex ({@code file-…}, {@code ftjob-…}, {@code chatcmpl-…}). */
public final class ObjectIds {
    private ObjectIds() {
    }

    /** {@code prefix} followed by {@code bytes} random bytes in hex. */
    public static String next(String prefix, int bytes) {
        byte[] b = new byte[bytes];
        ThreadLocalRandom.current().nextBytes(b);
        return prefix + HexFormat.of().formatHex(b);
    }
}
