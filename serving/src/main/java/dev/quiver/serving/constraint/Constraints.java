package dev.quiver.serving.constraint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dk.brics.automaton.Automaton;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Compiles constraints (a JSON Schema, any JSON object, a choice of strings, a regex) over one vocabulary and
 * caches them by a hash of their canonical (compact) text, so a schema sent again costs a lookup.
 * A constraint that fails to compile is not cached.
 */
public final class Constraints {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int CACHE_SIZE = 128;

    private final TokenVocabulary vocabulary;
    private final Map<String, TokenConstraint> cache = Collections.synchronizedMap(
            new LinkedHashMap<>(16, 0.75f, true) {
                @Override
                protected boolean removeEldestEntry(Map.Entry<String, TokenConstraint> eldest) {
                    return size() > CACHE_SIZE;
                }
            });

    public Constraints(TokenVocabulary vocabulary) {
        this.vocabulary = vocabulary;
    }

    /** Values of JSON Schema {@code schema}; {@code path} names where it sits in the request, for errors. */
    public TokenConstraint schema(JsonNode schema, String path) {
        return cached("schema:" + canonical(schema), "json_schema", () -> SchemaCompiler.compile(schema, path));
    }

    /**
     * Values of {@code schema} written between {@code prefix} and {@code suffix}: a tool call in a family's
     * format (Qwen's {@code <tool_call>\n{...}\n</tool_call>}).
     */
    public TokenConstraint framed(String prefix, JsonNode schema, String suffix, String path) {
        return cached("framed:" + prefix + "\u0000" + suffix + "\u0000" + canonical(schema), "json_schema",
                () -> {
                    Chars.requireBmp(prefix + suffix, path, "json_schema");
                    return JsonText.minimal(Automaton.makeString(prefix).concatenate(SchemaCompiler.compile(schema,
                            path)).concatenate(Automaton.makeString(suffix)));
                });
    }

    /**
     * Checks that {@code schema} can be decoded under, without a vocabulary (a control plane checks a task's
     * output schema before any serving replica sees it).
     *
     * @throws ConstraintException naming the keyword and its path under {@code path}
     */
    public static void check(JsonNode schema, String path) {
        SchemaCompiler.compile(schema, path);
    }

    /** Any JSON object (OpenAI's {@code json_object} mode). */
    public TokenConstraint jsonObject() {
        return cached("json_object", "json_object", JsonText::anyObject);
    }

    /** Exactly one of {@code choices}, as plain text. */
    public TokenConstraint choice(List<String> choices, String path) {
        if (choices.isEmpty()) {
            throw new ConstraintException(path, "guided_choice", "the choice list is empty");
        }
        return cached("choice:" + canonical(JSON.valueToTree(choices)), "guided_choice", () -> {
            for (int i = 0; i < choices.size(); i++) {
                if (choices.get(i).isEmpty()) {
                    throw new ConstraintException(path + "[" + i + "]", "guided_choice", "choices must not be empty");
                }
                Chars.requireBmp(choices.get(i), path + "[" + i + "]", "guided_choice");
            }
            // minimal as built (Daciuk's incremental construction)
            return Automaton.makeStringUnion(choices.toArray(new String[0]));
        });
    }

    /** Text that {@code regex} matches in full. */
    public TokenConstraint regex(String regex, String path) {
        return cached("regex:" + regex, "guided_regex", () -> {
            Automaton a = JsonText.minimal(RegexParser.parse(regex, path, "guided_regex"));
            if (a.isEmpty() || a.isEmptyString()) {
                throw new ConstraintException(path, "guided_regex", "the regex matches no non-empty text");
            }
            return a;
        });
    }

    /** The vocabulary masks are built over. */
    public TokenVocabulary vocabulary() {
        return vocabulary;
    }

    /** Compiled constraints held now. */
    public int cached() {
        return cache.size();
    }

    /** {@code compile} gives a minimal DFA: a schema's is minimised once, inside the compiler, and not again. */
    private TokenConstraint cached(String key, String kind, Supplier<Automaton> compile) {
        String hash = sha256(key);
        TokenConstraint c = cache.get(hash);
        if (c == null) {
            // compiled outside the lock: two first requests for one schema may both compile, and one wins
            c = new TokenConstraint(kind, ByteDfa.of(compile.get()), vocabulary);
            cache.putIfAbsent(hash, c);
        }
        return c;
    }

    /** Compact JSON: whitespace never matters, key order does (it is the order members are written in). */
    private static String canonical(JsonNode node) {
        return node.toString();
    }

    private static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has SHA-256", e);
        }
    }
}
