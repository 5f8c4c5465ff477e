package dev.quiver.adapters.tokenizer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Trains byte-level BPE (GPT-2 / Qwen2 style) on the bundled corpus and emits a Hugging Face tokenizer.json. */
public final class BpeTokenizerBuilder {

    /**
     * The added tokens, in id order, appended after the BPE vocabulary.
     *
     * <p>The first three are control tokens ({@code "special": true}, dropped by
     * {@code decode(ids, skipSpecialTokens=true)}). {@code <tool_call>} and {@code </tool_call>}
     * are added with {@code "special": false}, as Qwen2.5 does, so they are still matched as single
     * ids in text but survive special-token skipping: a tool-call parser needs to see them.
     */
    public static final List<String> SPECIAL_TOKENS =
            List.of("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<tool_call>", "</tool_call>");

    /** How many leading entries of {@link #SPECIAL_TOKENS} are flagged special. */
    private static final int CONTROL_TOKEN_COUNT = 3;

    /**
     * Qwen2's pre-tokenizer regex, verbatim: this exact string goes into tokenizer.json, where the
     * Rust tokenizers library (Oniguruma) evaluates it.
     */
    static final String PRETOKENIZE_REGEX =
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}"
                    + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    // java.util.regex accepts the same syntax; UNICODE_CHARACTER_CLASS makes \s match Unicode
    // whitespace as Oniguruma does, instead of Java's ASCII-only default.
    private static final Pattern PRETOKENIZE =
            Pattern.compile(PRETOKENIZE_REGEX, Pattern.UNICODE_CHARACTER_CLASS);

    private static final String CORPUS_RESOURCE = "corpus.txt";

    /** Byte value to its GPT-2 printable stand-in character. */
    private static final char[] BYTE_TO_CHAR = byteToUnicode();

    /** Byte value to its token id: ids 0..255 follow the stand-in characters' order, as in GPT-2 and Qwen2. */
    private static final int[] BYTE_TO_ID = byteToId(BYTE_TO_CHAR);

    private static final Comparator<Candidate> BEST_FIRST =
            Comparator.comparingLong(Candidate::count)
                    .reversed()
                    .thenComparingInt(Candidate::left)
                    .thenComparingInt(Candidate::right);

    private BpeTokenizerBuilder() {}

    /**
     * Trains on the bundled corpus and returns the text of a complete tokenizer.json.
     *
     * @param vocabSize upper bound on the total number of tokens, added tokens included; the
     *     vocabulary is smaller only when the corpus runs out of pairs seen at least twice
     * @return the tokenizer.json text; the same for the same {@code vocabSize} on every run
     */
    public static String build(int vocabSize) {
        int minimum = 256 + SPECIAL_TOKENS.size();
        if (vocabSize < minimum) {
            throw new IllegalArgumentException(
                    "vocabSize " + vocabSize + " is too small for a byte-level BPE tokenizer: it needs at least "
                            + minimum + " (256 byte tokens + " + SPECIAL_TOKENS.size()
                            + " added tokens); pass a larger vocabSize");
        }
        Vocabulary vocabulary = train(readCorpus(), vocabSize - SPECIAL_TOKENS.size());
        return toJson(vocabulary);
    }

    /** The trained BPE model: tokens in id order and merges in rank order. */
    record Vocabulary(List<String> tokens, List<String> merges) {}

    /** Trains byte-level BPE on {@code text} until the vocabulary holds {@code maxTokens} or no pair repeats. */
    static Vocabulary train(String text, int maxTokens) {
        Map<String, Integer> pieceCounts = countPieces(Normalizer.normalize(text, Normalizer.Form.NFC));
        // Sorted so that word indices, and with them every later step, do not depend on hashing.
        List<String> pieces = new ArrayList<>(new TreeMap<>(pieceCounts).keySet());
        int[][] words = new int[pieces.size()][];
        long[] freq = new long[pieces.size()];
        for (int w = 0; w < words.length; w++) {
            byte[] bytes = pieces.get(w).getBytes(StandardCharsets.UTF_8);
            words[w] = new int[bytes.length];
            for (int i = 0; i < bytes.length; i++) {
                words[w][i] = BYTE_TO_ID[bytes[i] & 0xFF];
            }
            freq[w] = pieceCounts.get(pieces.get(w));
        }

        List<String> tokens = new ArrayList<>(256);
        Map<String, Integer> idOf = new HashMap<>();
        char[] alphabet = BYTE_TO_CHAR.clone();
        Arrays.sort(alphabet);
        for (char c : alphabet) {
            idOf.put(String.valueOf(c), tokens.size());
            tokens.add(String.valueOf(c));
        }

        Map<Long, Long> pairCounts = new HashMap<>();
        // May list words that no longer hold the pair; mergeWord() skips them, which is cheaper than pruning.
        Map<Long, Set<Integer>> pairWords = new HashMap<>();
        for (int w = 0; w < words.length; w++) {
            addPairs(words[w], freq[w], w, pairCounts, pairWords, null);
        }
        PriorityQueue<Candidate> queue = new PriorityQueue<>(BEST_FIRST);
        pairCounts.forEach((key, count) -> queue.add(Candidate.of(key, count)));

        List<String> merges = new ArrayList<>();
        while (tokens.size() < maxTokens && !queue.isEmpty()) {
            Candidate top = queue.poll();
            long current = pairCounts.getOrDefault(top.key(), 0L);
            if (current != top.count()) {
                // Stale entry: a queued pair's count can only fall (pairs that gain are queued afresh), so re-queue it.
                if (current > 0) {
                    queue.add(new Candidate(current, top.left(), top.right()));
                }
                continue;
            }
            if (current < 2) {
                break;
            }
            String merged = tokens.get(top.left()) + tokens.get(top.right());
            Integer existing = idOf.get(merged);
            int newId;
            if (existing != null) {
                // Different splits can spell the same token ("a"+"bc", "ab"+"c"); reuse its id as HF's trainer does.
                newId = existing;
            } else {
                newId = tokens.size();
                tokens.add(merged);
                idOf.put(merged, newId);
            }
            merges.add(tokens.get(top.left()) + " " + tokens.get(top.right()));

            Set<Long> touched = new HashSet<>();
            for (int w : sortedCopy(pairWords.remove(top.key()))) {
                int[] rewritten = mergeWord(words[w], top.left(), top.right(), newId);
                if (rewritten == null) {
                    continue;
                }
                removePairs(words[w], freq[w], pairCounts);
                words[w] = rewritten;
                addPairs(rewritten, freq[w], w, pairCounts, pairWords, touched);
            }
            pairCounts.remove(top.key());
            for (long key : touched) {
                Candidate c = Candidate.of(key, pairCounts.getOrDefault(key, 0L));
                if (c.count() > 0 && (c.left() == newId || c.right() == newId)) {
                    queue.add(c);
                }
            }
        }
        return new Vocabulary(List.copyOf(tokens), List.copyOf(merges));
    }

    private static Map<String, Integer> countPieces(String text) {
        Map<String, Integer> counts = new HashMap<>();
        Matcher m = PRETOKENIZE.matcher(text);
        while (m.find()) {
            counts.merge(m.group(), 1, Integer::sum);
        }
        return counts;
    }

    private static int[] sortedCopy(Set<Integer> words) {
        if (words == null) {
            return new int[0];
        }
        int[] out = words.stream().mapToInt(Integer::intValue).toArray();
        Arrays.sort(out);
        return out;
    }

    /** Returns the word with every non-overlapping (left, right) replaced, or null if it has none. */
    private static int[] mergeWord(int[] word, int left, int right, int newId) {
        int[] out = null;
        int n = 0;
        for (int i = 0; i < word.length; i++) {
            if (i + 1 < word.length && word[i] == left && word[i + 1] == right) {
                if (out == null) {
                    out = new int[word.length - 1];
                    System.arraycopy(word, 0, out, 0, i);
                    n = i;
                }
                out[n++] = newId;
                i++;
            } else if (out != null) {
                out[n++] = word[i];
            }
        }
        return out == null ? null : Arrays.copyOf(out, n);
    }

    private static void addPairs(
            int[] word,
            long freq,
            int w,
            Map<Long, Long> pairCounts,
            Map<Long, Set<Integer>> pairWords,
            Set<Long> touched) {
        for (int i = 0; i + 1 < word.length; i++) {
            long key = pairKey(word[i], word[i + 1]);
            pairCounts.merge(key, freq, Long::sum);
            pairWords.computeIfAbsent(key, k -> new HashSet<>()).add(w);
            if (touched != null) {
                touched.add(key);
            }
        }
    }

    private static void removePairs(int[] word, long freq, Map<Long, Long> pairCounts) {
        for (int i = 0; i + 1 < word.length; i++) {
            long key = pairKey(word[i], word[i + 1]);
            long left = pairCounts.get(key) - freq;
            if (left == 0) {
                pairCounts.remove(key);
            } else {
                pairCounts.put(key, left);
            }
        }
    }

    private static long pairKey(int left, int right) {
        return ((long) left << 32) | (right & 0xFFFFFFFFL);
    }

    /** A pair with the count it had when queued; the queue orders by count, then by ids, like HF's trainer. */
    private record Candidate(long count, int left, int right) {
        static Candidate of(long key, long count) {
            return new Candidate(count, (int) (key >>> 32), (int) key);
        }

        long key() {
            return pairKey(left, right);
        }
    }

    private static String toJson(Vocabulary vocabulary) {
        JsonNodeFactory f = JsonNodeFactory.instance;
        ObjectNode root = f.objectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");

        ArrayNode added = root.putArray("added_tokens");
        int nextId = vocabulary.tokens().size();
        for (int i = 0; i < SPECIAL_TOKENS.size(); i++) {
            added.addObject()
                    .put("id", nextId + i)
                    .put("content", SPECIAL_TOKENS.get(i))
                    .put("single_word", false)
                    .put("lstrip", false)
                    .put("rstrip", false)
                    .put("normalized", false)
                    .put("special", i < CONTROL_TOKEN_COUNT);
        }

        root.putObject("normalizer").put("type", "NFC");

        ObjectNode pre = root.putObject("pre_tokenizer");
        pre.put("type", "Sequence");
        ArrayNode steps = pre.putArray("pretokenizers");
        ObjectNode split = steps.addObject();
        split.put("type", "Split");
        split.putObject("pattern").put("Regex", PRETOKENIZE_REGEX);
        split.put("behavior", "Isolated");
        split.put("invert", false);
        steps.add(byteLevel(f));

        root.set("post_processor", byteLevel(f));
        root.set("decoder", byteLevel(f));

        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        model.putNull("unk_token");
        model.put("continuing_subword_prefix", "");
        model.put("end_of_word_suffix", "");
        model.put("fuse_unk", false);
        model.put("byte_fallback", false);
        model.put("ignore_merges", false);
        ObjectNode vocab = model.putObject("vocab");
        for (int id = 0; id < vocabulary.tokens().size(); id++) {
            vocab.put(vocabulary.tokens().get(id), id);
        }
        ArrayNode merges = model.putArray("merges");
        vocabulary.merges().forEach(merges::add);

        try {
            return new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("could not serialise the trained tokenizer.json", e);
        }
    }

    private static ObjectNode byteLevel(JsonNodeFactory f) {
        return f.objectNode()
                .put("type", "ByteLevel")
                .put("add_prefix_space", false)
                .put("trim_offsets", false)
                .put("use_regex", false);
    }

    private static String readCorpus() {
        try (InputStream in = BpeTokenizerBuilder.class.getResourceAsStream(CORPUS_RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("training corpus not found on the classpath at "
                        + BpeTokenizerBuilder.class.getPackageName().replace('.', '/') + "/" + CORPUS_RESOURCE
                        + "; it ships in the quiver-adapters jar, so check that the jar's resources were packaged");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("could not read the training corpus " + CORPUS_RESOURCE, e);
        }
    }

    /** GPT-2's bytes_to_unicode: printable bytes stand for themselves, the rest shift to U+0100 onwards. */
    private static char[] byteToUnicode() {
        char[] out = new char[256];
        int shifted = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            out[b] = printable ? (char) b : (char) (256 + shifted++);
        }
        return out;
    }

    private static int[] byteToId(char[] byteToChar) {
        char[] sorted = byteToChar.clone();
        Arrays.sort(sorted);
        int[] out = new int[256];
        for (int b = 0; b < 256; b++) {
            out[b] = Arrays.binarySearch(sorted, byteToChar[b]);
        }
        return out;
    }
}
