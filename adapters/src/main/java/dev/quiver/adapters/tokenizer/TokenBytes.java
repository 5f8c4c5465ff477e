package dev.quiver.adapters.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;

/** The bytes each vocabulary token stands for, as its decoder writes them, so text can be checked token by token. */
final class TokenBytes {
    private static final int[] CHAR_TO_BYTE = charToByte();

    private TokenBytes() {
    }

    /**
     * One entry per id up to the highest, null for added tokens and ids that name no vocabulary entry: added
     * tokens are control strings to a constraint, never text. Byte-level BPE (GPT-2, Qwen, Llama 3) spells
     * bytes in GPT-2's printable alphabet, so a multi-byte character split across tokens gives each its own
     * bytes; SentencePiece-style vocabularies spell bytes {@code <0xNN>} and spaces {@code ▁}.
     */
    static byte[][] read(JsonNode root, Map<String, Integer> ids) {
        int size = ids.values().stream().mapToInt(Integer::intValue).max().orElse(-1) + 1;
        byte[][] out = new byte[size][];
        boolean byteLevel = root.path("decoder").toString().contains("\"ByteLevel\"");
        root.path("model").path("vocab").fields().forEachRemaining(e ->
                out[e.getValue().asInt()] = byteLevel ? byteLevel(e.getKey()) : sentencePiece(e.getKey()));
        for (JsonNode added : root.path("added_tokens")) {
            out[added.path("id").asInt()] = null;
        }
        return out;
    }

    private static byte[] byteLevel(String token) {
        byte[] bytes = new byte[token.length()];
        for (int i = 0; i < token.length(); i++) {
            char c = token.charAt(i);
            int b = c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1;
            if (b < 0) {
                return null;
            }
            bytes[i] = (byte) b;
        }
        return bytes;
    }

    private static byte[] sentencePiece(String token) {
        if (token.length() == 6 && token.startsWith("<0x") && token.endsWith(">")) {
            return new byte[] {(byte) Integer.parseInt(token.substring(3, 5), 16)};
        }
        return token.replace('\u2581', ' ').getBytes(StandardCharsets.UTF_8);
    }

    /** The inverse of GPT-2's bytes_to_unicode: printable bytes stand for themselves, the rest from U+0100 on. */
    private static int[] charToByte() {
        int[] out = new int[512];
        Arrays.fill(out, -1);
        int shifted = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            out[printable ? b : 256 + shifted++] = b;
        }
        return out;
    }
}
