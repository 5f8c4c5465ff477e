package dev.quiver.finetune.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.quiver.adapters.model.ModelDirectory;
import dev.quiver.adapters.tokenizer.ChatTemplate;
import dev.quiver.adapters.tokenizer.ChatTemplateException;
import dev.quiver.adapters.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Turns examples into token ids with a loss mask. Chat examples are rendered with the model's own chat
 * template; the assistant spans are found by rendering the conversation up to each learned turn with and
 * without it, so any template that renders incrementally works. A learned span is the assistant's text
 * and its end-of-turn token, not the whitespace the template puts after it.
 */
public final class ExampleEncoder {
    private final Tokenizer tokenizer;
    private final ChatTemplate template;
    private final String endOfTurn;
    private final int maxLength;

    /**
     * @param endOfTurn the text of the token that ends an answer (the tokenizer's {@code eos_token}), appended
     *                  to completions
     * @param maxLength longer examples are cut to this many tokens
     */
    public ExampleEncoder(Tokenizer tokenizer, ChatTemplate template, String endOfTurn, int maxLength) {
        if (maxLength < 2) {
            throw new IllegalArgumentException("maximum sequence length must be at least 2, got " + maxLength);
        }
        this.tokenizer = tokenizer;
        this.template = template;
        this.endOfTurn = endOfTurn;
        this.maxLength = maxLength;
    }

    /** Encodes every example of {@code file}; template failures are reported with their lines, all at once. */
    public EncodedDataset encodeAll(Path file, List<RawExample> raw) throws DatasetException {
        List<EncodedExample> kept = new ArrayList<>();
        List<Integer> truncated = new ArrayList<>();
        List<Integer> dropped = new ArrayList<>();
        List<DatasetException.Problem> problems = new ArrayList<>();
        for (RawExample r : raw) {
            EncodedExample e;
            try {
                e = encode(r);
            } catch (ChatTemplateException | IllegalStateException ex) {
                problems.add(new DatasetException.Problem(file, r.line(), ex.getMessage()));
                continue;
            }
            if (e.truncated()) {
                truncated.add(r.line());
            }
            if (e.targetCount() == 0) {
                dropped.add(r.line());
            } else {
                kept.add(e);
            }
        }
        if (!problems.isEmpty()) {
            throw new DatasetException(problems);
        }
        if (kept.isEmpty()) {
            // every line is reported: each one lost its answer to truncation, and each can be fixed on its own
            for (int line : dropped) {
                problems.add(new DatasetException.Problem(file, line, "no assistant or completion token is left"
                        + " within max_seq_length " + maxLength + " tokens, and no other example has one either;"
                        + " raise max_seq_length or shorten the prompt"));
            }
            throw new DatasetException(problems);
        }
        return new EncodedDataset(kept, truncated, dropped);
    }

    /** Encodes one example, cut to the maximum length. */
    public EncodedExample encode(RawExample example) {
        List<Piece> pieces = example instanceof RawExample.Chat c ? chatPieces(c)
                : completionPieces((RawExample.Completion) example);
        int[] ids = new int[0];
        boolean[] targets = new boolean[0];
        for (Piece p : pieces) {
            if (p.text.isEmpty()) {
                continue;
            }
            int[] more = tokenizer.encode(p.text);
            int at = ids.length;
            ids = Arrays.copyOf(ids, at + more.length);
            System.arraycopy(more, 0, ids, at, more.length);
            targets = Arrays.copyOf(targets, ids.length);
            Arrays.fill(targets, at, ids.length, p.learned);
        }
        boolean truncated = ids.length > maxLength;
        if (truncated) {
            ids = Arrays.copyOf(ids, maxLength);
            targets = Arrays.copyOf(targets, maxLength);
        }
        return new EncodedExample(example.line(), ids, targets, truncated);
    }

    private record Piece(String text, boolean learned) {
    }

    private List<Piece> chatPieces(RawExample.Chat chat) {
        List<Map<String, Object>> messages = chat.messages();
        List<Piece> pieces = new ArrayList<>();
        String covered = "";
        for (int i = 0; i < messages.size(); i++) {
            if (!chat.targets().get(i)) {
                continue;
            }
            String prompt = template.render(messages.subList(0, i), chat.tools(), true);
            String withAnswer = template.render(messages.subList(0, i + 1), chat.tools(), false);
            if (!prompt.startsWith(covered) || !withAnswer.startsWith(prompt)) {
                throw new IllegalStateException("the chat template does not render messages[" + i + "] as a"
                        + " continuation of the conversation before it, so its tokens cannot be located; such"
                        + " templates (e.g. ones that rewrite earlier turns) need one assistant turn per example");
            }
            String answer = withAnswer.substring(prompt.length()).stripTrailing();
            pieces.add(new Piece(prompt.substring(covered.length()), false));
            pieces.add(new Piece(answer, true));
            covered = prompt + answer;
        }
        String all = template.render(messages, chat.tools(), false);
        if (!all.startsWith(covered)) {
            throw new IllegalStateException("the chat template renders the whole conversation differently from its"
                    + " parts, so the assistant tokens cannot be located");
        }
        pieces.add(new Piece(all.substring(covered.length()), false));
        return pieces;
    }

    private List<Piece> completionPieces(RawExample.Completion c) {
        String completion = c.completion().endsWith(endOfTurn) ? c.completion() : c.completion() + endOfTurn;
        return List.of(new Piece(c.prompt(), false), new Piece(completion, true));
    }

    /**
     * The token that ends an answer: tokenizer_config.json's {@code eos_token} (for chat models the
     * end-of-turn token), else the first of the model's eos ids.
     */
    public static String endOfTurn(Path modelDir, Tokenizer tokenizer) throws IOException {
        Path config = modelDir.resolve("tokenizer_config.json");
        if (Files.exists(config)) {
            JsonNode eos = new ObjectMapper().readTree(config.toFile()).get("eos_token");
            if (eos != null && eos.isObject()) {
                eos = eos.get("content");
            }
            if (eos != null && eos.isTextual()) {
                return eos.asText();
            }
        }
        try (ModelDirectory dir = ModelDirectory.open(modelDir)) {
            List<Integer> ids = dir.eosTokenIds();
            if (ids.isEmpty()) {
                throw new IOException(modelDir + " names no eos_token (tokenizer_config.json) or eos_token_id"
                        + " (generation_config.json, config.json), so completions cannot be ended; add one");
            }
            return tokenizer.decode(new int[] {ids.get(0)});
        }
    }
}
