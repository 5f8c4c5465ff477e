package dev.quiver.serving.constraint;

import com.fasterxml.jackson.databind.JsonNode;
import dev.quiver.adapters.tokenizer.BpeTokenizerBuilder;
import dev.quiver.adapters.tokenizer.Tokenizer;
import dev.quiver.serving.bench.ConstraintBenchmark;
import dk.brics.automaton.Automaton;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Schema compile time by stage, for the serve benchmark's two schemas over the {@code small} model's vocabulary
 * (its generated 4096-token BPE tokenizer, so no weights need writing): schema to character automaton, character
 * automaton to byte DFA, the first (start-state) mask, and the whole of {@link Constraints#schema} as the
 * benchmark times it. Not a test: run by hand, e.g.
 * {@code java -cp serving/target/test-classes:serving/target/classes:... dev.quiver.serving.constraint.CompileTiming 15}.
 */
public final class CompileTiming {
    private static final int SMALL_VOCAB = 4096;
    private static final int WARMUP = 3;

    private CompileTiming() {
    }

    public static void main(String[] args) throws Exception {
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 15;
        Path dir = Files.createTempDirectory("quiver-compile-timing");
        Path file = dir.resolve("tokenizer.json");
        Files.writeString(file, BpeTokenizerBuilder.build(SMALL_VOCAB));
        TokenVocabulary vocabulary;
        try (Tokenizer tokenizer = Tokenizer.load(dir)) {
            int eos = tokenizer.tokenId("<|endoftext|>").orElseThrow();
            vocabulary = TokenVocabulary.of(tokenizer, Math.min(SMALL_VOCAB, tokenizer.vocabSize()), List.of(eos));
        } finally {
            Files.delete(file);
            Files.delete(dir);
        }
        Map<String, JsonNode> schemas = Map.of("realistic", ConstraintBenchmark.realistic(),
                "large", ConstraintBenchmark.large());
        for (String name : List.of("realistic", "large")) {
            time(name, schemas.get(name), vocabulary, runs);
        }
    }

    private static void time(String name, JsonNode schema, TokenVocabulary vocabulary, int runs) {
        long[][] nanos = new long[4][runs];
        int states = 0;
        int charStates = 0;
        for (int i = -WARMUP; i < runs; i++) {
            long t0 = System.nanoTime();
            Automaton chars = SchemaCompiler.compile(schema, "schema");
            long t1 = System.nanoTime();
            ByteDfa dfa = ByteDfa.of(chars);
            long t2 = System.nanoTime();
            new TokenConstraint("json_schema", dfa, vocabulary);
            long t3 = System.nanoTime();
            new Constraints(vocabulary).schema(schema, "schema");
            long t4 = System.nanoTime();
            if (i >= 0) {
                nanos[0][i] = t1 - t0;
                nanos[1][i] = t2 - t1;
                nanos[2][i] = t3 - t2;
                nanos[3][i] = t4 - t3;
            }
            charStates = chars.getNumberOfStates();
            states = dfa.states();
        }
        System.out.printf("%-9s p50 ms over %d: chars %8.2f  bytes %8.2f  first mask %6.2f  | Constraints.schema"
                        + " %8.2f   (char states %d, byte states %d)%n", name, runs, p50(nanos[0]), p50(nanos[1]),
                p50(nanos[2]), p50(nanos[3]), charStates, states);
    }

    private static double p50(long[] nanos) {
        long[] sorted = nanos.clone();
        Arrays.sort(sorted);
        return sorted[(sorted.length - 1) / 2] / 1e6;
    }
}
