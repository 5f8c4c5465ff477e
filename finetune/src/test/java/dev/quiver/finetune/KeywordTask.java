package dev.quiver.finetune;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * A seeded synthetic task that can only be solved by generalising: a message is a handful of random
 * filler words with one keyword of a label somewhere among them, and the answer is that label. Held-out
 * messages are new word sequences that never occur in training (every keyword is seen in training, in
 * other company and at other positions), so memorising the training set does not answer them.
 */
public final class KeywordTask {
    public static final String SYSTEM = "Label the message by its topic.";

    /** Label to the keywords that signal it. */
    public static final Map<String, List<String>> KEYWORDS = new LinkedHashMap<>();

    static {
        KEYWORDS.put("billing", List.of("invoice", "refund", "charge", "payment", "price"));
        KEYWORDS.put("shipping", List.of("parcel", "courier", "delivery", "tracking", "box"));
        KEYWORDS.put("account", List.of("password", "login", "username", "profile", "email"));
        KEYWORDS.put("bug", List.of("crash", "error", "freeze", "glitch", "blank"));
    }

    /** Topic-free words the messages are built from. */
    static final List<String> FILLER = List.of("the", "my", "a", "is", "was", "again", "today", "please", "still",
            "really", "about", "with", "this", "that", "new", "old", "help", "need", "now", "why", "when", "how",
            "just", "very", "some", "any", "last", "week", "morning", "after", "before", "since", "not", "can",
            "you", "we", "they", "it", "there", "here", "what", "so", "too", "all", "one", "two", "good", "bad",
            "thing", "time", "day", "yet", "even", "also", "then", "our", "your", "got", "went", "see");

    /** One message and its label. */
    public record Example(String message, String label) {
    }

    /** A training set and a held-out set with no message in common. */
    public record Split(List<Example> train, List<Example> heldOut) {
    }

    private KeywordTask() {
    }

    /** {@code trainSize} training and {@code heldOutSize} held-out examples, labels balanced, drawn from {@code seed}. */
    public static Split generate(long seed, int trainSize, int heldOutSize) {
        SplittableRandom rnd = new SplittableRandom(seed);
        Set<String> seen = new HashSet<>();
        List<Example> train = draw(rnd, trainSize, seen);
        List<Example> heldOut = draw(rnd, heldOutSize, seen);
        return new Split(train, heldOut);
    }

    private static List<Example> draw(SplittableRandom rnd, int count, Set<String> seen) {
        List<String> labels = List.copyOf(KEYWORDS.keySet());
        List<Example> out = new ArrayList<>();
        while (out.size() < count) {
            String label = labels.get(out.size() % labels.size());
            String message = message(rnd, KEYWORDS.get(label));
            if (seen.add(message)) {
                out.add(new Example(message, label));
            }
        }
        return out;
    }

    private static String message(SplittableRandom rnd, List<String> keywords) {
        int words = 4 + rnd.nextInt(5);
        List<String> w = new ArrayList<>();
        for (int i = 0; i < words; i++) {
            w.add(FILLER.get(rnd.nextInt(FILLER.size())));
        }
        w.add(rnd.nextInt(words + 1), keywords.get(rnd.nextInt(keywords.size())));
        return String.join(" ", w);
    }

    /** Chance accuracy of a guesser that knows the labels. */
    public static double chance() {
        return 1.0 / KEYWORDS.size();
    }

    /** The chat messages of a prompt, without the answer. */
    public static List<Map<String, Object>> prompt(String message) {
        return List.of(Map.of("role", "system", "content", SYSTEM), Map.of("role", "user", "content", message));
    }

    /** Writes examples as chat-form JSONL and returns the file. */
    public static Path write(Path file, List<Example> examples) throws IOException {
        ObjectMapper json = new ObjectMapper();
        List<String> lines = new ArrayList<>();
        for (Example e : examples) {
            lines.add(json.createObjectNode().set("messages", json.createArrayNode()
                    .add(json.createObjectNode().put("role", "system").put("content", SYSTEM))
                    .add(json.createObjectNode().put("role", "user").put("content", e.message()))
                    .add(json.createObjectNode().put("role", "assistant").put("content", e.label()))).toString());
        }
        Files.write(file, lines);
        return file;
    }
}
