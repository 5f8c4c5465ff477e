package dev.quiver.adapters.tokenizer;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.HashMap;
import java.util.Map;
import java.util.OptionalInt;

/** A Hugging Face tokenizer.json from a model directory, run by DJL's binding of the Rust tokenizers library. */
public final class Tokenizer implements AutoCloseable {

    private static final String FILE_NAME = "tokenizer.json";

    /**
     * DJL's defaults suit BERT-style classification, not causal LMs: it would truncate to 512
     * tokens and, with special tokens off, silently make {@code decode(long[])} skip them.
     */
    private static final Map<String, String> OPTIONS =
            Map.of("addSpecialTokens", "false", "truncation", "false", "padding", "false");

    private final HuggingFaceTokenizer delegate;
    private final Map<String, Integer> ids;
    private final BitSet knownIds = new BitSet();
    private final byte[][] tokenBytes;
    private final Path file;

    private Tokenizer(HuggingFaceTokenizer delegate, Map<String, Integer> ids, byte[][] tokenBytes, Path file) {
        this.delegate = delegate;
        this.ids = ids;
        this.tokenBytes = tokenBytes;
        this.file = file;
        ids.values().forEach(knownIds::set);
    }

    /**
     * Loads {@code modelDir/tokenizer.json}.
     *
     * @throws TokenizerException if the file is missing, unreadable or not a valid tokenizer.json
     */
    public static Tokenizer load(Path modelDir) {
        Path file = modelDir.resolve(FILE_NAME);
        if (!Files.isRegularFile(file)) {
            throw new TokenizerException("no " + FILE_NAME + " at " + file.toAbsolutePath()
                    + ": a model directory must hold a Hugging Face tokenizer.json; "
                    + "check the path, or write one with BpeTokenizerBuilder.build(vocabSize)");
        }
        // DJL exposes no token-to-id lookup, so read the vocabulary from the same file ourselves.
        JsonNode root = readJson(file);
        Map<String, Integer> ids = readTokenIds(root, file);
        HuggingFaceTokenizer delegate;
        try {
            delegate = HuggingFaceTokenizer.newInstance(file, OPTIONS);
        } catch (IOException e) {
            throw new TokenizerException("could not read " + file.toAbsolutePath() + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            // The native library reports schema errors as a bare RuntimeException carrying serde's message.
            throw new TokenizerException("the tokenizers library rejected " + file.toAbsolutePath() + ": "
                    + e.getMessage() + "; regenerate the file or replace it with a valid tokenizer.json", e);
        }
        return new Tokenizer(delegate, Map.copyOf(ids), TokenBytes.read(root, ids), file);
    }

    /**
     * Encodes text without adding any special tokens; special-token strings already in the text,
     * such as {@code <|im_end|>}, still become their single ids.
     */
    public int[] encode(String text) {
        long[] raw = delegate.encode(text).getIds();
        int[] out = new int[raw.length];
        for (int i = 0; i < raw.length; i++) {
            out[i] = Math.toIntExact(raw[i]);
        }
        return out;
    }

    /** Decodes ids back to text, keeping special tokens (Hugging Face's default). */
    public String decode(int[] ids) {
        return decode(ids, false);
    }

    /**
     * Decodes ids back to text.
     *
     * @param skipSpecialTokens drop tokens flagged {@code "special": true} in tokenizer.json
     * @throws IllegalArgumentException if an id is not in the vocabulary
     */
    public String decode(int[] ids, boolean skipSpecialTokens) {
        long[] raw = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            // The native decoder drops unknown ids without a word, which would hide model bugs.
            if (ids[i] < 0 || !knownIds.get(ids[i])) {
                throw new IllegalArgumentException("token id " + ids[i] + " at position " + i
                        + " is not in the vocabulary of " + file.toAbsolutePath() + " (" + vocabSize()
                        + " tokens, highest id " + (knownIds.length() - 1) + ")");
            }
            raw[i] = ids[i];
        }
        return delegate.decode(raw, skipSpecialTokens);
    }

    /** Returns the id of a token as spelled in the vocabulary (e.g. {@code "Ġthe"}, {@code "<|im_end|>"}). */
    public OptionalInt tokenId(String token) {
        Integer id = ids.get(token);
        return id == null ? OptionalInt.empty() : OptionalInt.of(id);
    }

    /**
     * The bytes token {@code id} adds to the decoded text, or null for an added token (control strings such as
     * {@code <|im_end|>}) and ids outside the vocabulary. Bytes, not a string: byte-level BPE splits multi-byte
     * characters across tokens.
     */
    public byte[] tokenBytes(int id) {
        return id >= 0 && id < tokenBytes.length && tokenBytes[id] != null ? tokenBytes[id].clone() : null;
    }

    /** Returns the number of distinct tokens, added tokens included, like {@code len(tokenizer)} in transformers. */
    public int vocabSize() {
        return knownIds.cardinality();
    }

    @Override
    public void close() {
        delegate.close();
    }

    private static JsonNode readJson(Path file) {
        try {
            return new ObjectMapper().readTree(file.toFile());
        } catch (JsonProcessingException e) {
            throw new TokenizerException("could not parse " + file.toAbsolutePath() + " as JSON: "
                    + e.getOriginalMessage() + "; regenerate the file or replace it with a valid tokenizer.json", e);
        } catch (IOException e) {
            throw new TokenizerException("could not read " + file.toAbsolutePath() + ": " + e.getMessage(), e);
        }
    }

    private static Map<String, Integer> readTokenIds(JsonNode root, Path file) {
        JsonNode vocab = root == null ? null : root.path("model").get("vocab");
        if (vocab == null || !vocab.isObject()) {
            throw new TokenizerException(file.toAbsolutePath() + " has no model.vocab object; only BPE-style "
                    + "tokenizer.json files (GPT-2, Qwen2, Llama 3) are supported");
        }
        Map<String, Integer> ids = new HashMap<>();
        vocab.fields().forEachRemaining(e -> ids.put(e.getKey(), e.getValue().asInt(-1)));
        for (JsonNode added : root.path("added_tokens")) {
            ids.put(added.path("content").asText(), added.path("id").asInt(-1));
        }
        ids.forEach((token, id) -> {
            if (id < 0) {
                throw new TokenizerException(file.toAbsolutePath() + " gives token " + token
                        + " the id " + id + "; ids must be non-negative integers");
            }
        });
        return ids;
    }
}
