package dev.quiver.finetune.data;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads a fine-tuning JSONL file in the forms OpenAI's fine-tuning API takes: chat
 * ({@code messages}, optional {@code tools}) or {@code prompt}/{@code completion}, one form per file.
 * Every line is checked and all problems are reported at once with their line numbers.
 */
public final class DatasetReader {
    private static final int MAX_PROBLEMS = 100;
    private static final Set<String> ROLES = Set.of("system", "user", "assistant", "tool");
    private static final TypeReference<LinkedHashMap<String, Object>> MAP = new TypeReference<>() {
    };

    private final ObjectMapper json = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    /** The form of a file, fixed by its first example. */
    enum Form {
        CHAT("chat form (\"messages\")"),
        COMPLETION("prompt/completion form");

        private final String label;

        Form(String label) {
            this.label = label;
        }
    }

    /** Reads and checks every line of {@code file}; blank lines are skipped. */
    public List<RawExample> read(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file + " (the training data must be a JSONL file)");
        }
        List<RawExample> examples = new ArrayList<>();
        List<DatasetException.Problem> problems = new ArrayList<>();
        Form form = null;
        int formLine = 0;
        try (Utf8Lines in = new Utf8Lines(file)) {
            Utf8Lines.Line next;
            while (problems.size() < MAX_PROBLEMS && (next = in.next()) != null) {
                int line = next.number();
                String text = next.text();
                if (text.isBlank()) {
                    continue;
                }
                LineResult r = parseLine(file, line, text);
                if (r.problem != null) {
                    problems.add(r.problem);
                    continue;
                }
                if (form == null) {
                    form = r.form;
                    formLine = line;
                } else if (r.form != form) {
                    problems.add(new DatasetException.Problem(file, line, "is in " + r.form.label + " but line "
                            + formLine + " is in " + form.label + "; a file must use one form throughout"));
                    continue;
                }
                examples.add(r.example);
            }
        } catch (Utf8Lines.NotUtf8Exception e) {
            // the rest of the file cannot be read as text, so this is the last problem it can report
            problems.add(new DatasetException.Problem(file, e.line(), e.getMessage()));
        }
        if (problems.isEmpty() && examples.isEmpty()) {
            problems.add(new DatasetException.Problem(file, 0, "holds no examples; write one JSON object per line"));
        }
        if (!problems.isEmpty()) {
            throw new DatasetException(problems);
        }
        return examples;
    }

    private record LineResult(RawExample example, Form form, DatasetException.Problem problem) {
    }

    private LineResult parseLine(Path file, int line, String text) {
        try {
            JsonNode root = json.readTree(text);
            if (root == null || !root.isObject()) {
                return problem(file, line, "expected a JSON object, got " + kind(root)
                        + "; each line must be one object like {\"messages\": [...]}");
            }
            boolean chat = root.has("messages");
            boolean completion = root.has("prompt") || root.has("completion");
            if (chat && completion) {
                return problem(file, line, "has both \"messages\" and \"prompt\"/\"completion\"; use one form");
            }
            if (chat) {
                return new LineResult(chat(line, root), Form.CHAT, null);
            }
            if (completion) {
                return new LineResult(completion(line, root), Form.COMPLETION, null);
            }
            return problem(file, line, "missing \"messages\" (chat form) or \"prompt\" and \"completion\""
                    + " (completion form)");
        } catch (StreamConstraintsException e) {
            // thrown without a location; the limits guard the reader against hostile input (deep nesting)
            return problem(file, line, "exceeds a JSON limit (" + e.getOriginalMessage() + "); flatten the"
                    + " example or shorten it");
        } catch (JsonProcessingException e) {
            JsonLocation at = e.getLocation();
            return problem(file, line, "not valid JSON (" + e.getOriginalMessage()
                    + (at == null || at.getColumnNr() < 0 ? "" : " at column " + at.getColumnNr()) + ")");
        } catch (BadLine e) {
            return problem(file, line, e.getMessage());
        }
    }

    private RawExample.Chat chat(int line, JsonNode root) throws BadLine {
        JsonNode messages = root.get("messages");
        if (!messages.isArray() || messages.isEmpty()) {
            throw new BadLine("\"messages\" must be a non-empty array of {\"role\", \"content\"} objects");
        }
        List<Map<String, Object>> out = new ArrayList<>();
        List<Boolean> targets = new ArrayList<>();
        boolean learnable = false;
        for (int i = 0; i < messages.size(); i++) {
            JsonNode m = messages.get(i);
            String where = "messages[" + i + "]";
            if (!m.isObject()) {
                throw new BadLine(where + " must be an object with \"role\" and \"content\", got " + kind(m));
            }
            JsonNode role = m.get("role");
            if (role == null || !role.isTextual() || !ROLES.contains(role.asText())) {
                throw new BadLine(where + ".role must be one of system, user, assistant, tool; got " + role);
            }
            boolean assistant = role.asText().equals("assistant");
            boolean hasToolCalls = assistant && m.path("tool_calls").isArray() && !m.get("tool_calls").isEmpty();
            Map<String, Object> message = json.convertValue(m, MAP);
            message.put("content", content(where, m.get("content"), role.asText(), hasToolCalls));
            Object weight = message.remove("weight");
            if (weight != null) {
                if (!assistant) {
                    throw new BadLine(where + ".weight is only allowed on assistant messages");
                }
                if (!(weight instanceof Number n) || (n.doubleValue() != 0 && n.doubleValue() != 1)) {
                    throw new BadLine(where + ".weight must be 0 or 1, got " + weight);
                }
            }
            boolean target = assistant && (weight == null || ((Number) weight).doubleValue() == 1);
            if (target && !hasToolCalls && message.get("content") instanceof String text && text.isBlank()) {
                throw new BadLine(where + ".content is empty; a learned assistant turn must hold the answer the"
                        + " model should give (or tool_calls), else it would teach the model to say nothing");
            }
            learnable |= target;
            targets.add(target);
            out.add(message);
        }
        if (!learnable) {
            throw new BadLine("has no assistant message to learn from; add an assistant turn with the answer the"
                    + " model should give (or remove \"weight\": 0 from one)");
        }
        List<Map<String, Object>> tools = null;
        JsonNode t = root.get("tools");
        if (t != null && !t.isNull()) {
            if (!t.isArray()) {
                throw new BadLine("\"tools\" must be an array of function definitions");
            }
            tools = new ArrayList<>();
            for (int i = 0; i < t.size(); i++) {
                if (!t.get(i).isObject()) {
                    throw new BadLine("tools[" + i + "] must be an object, got " + kind(t.get(i)));
                }
                tools.add(json.convertValue(t.get(i), MAP));
            }
        }
        return new RawExample.Chat(line, out, tools, targets);
    }

    /** Message content as the template wants it: text parts joined, structured tool results kept as they are. */
    private Object content(String where, JsonNode content, String role, boolean hasToolCalls) throws BadLine {
        if (content == null || content.isNull()) {
            if (hasToolCalls) {
                return "";
            }
            throw new BadLine(where + ".content is missing; every " + role + " message needs text content");
        }
        if (content.isTextual()) {
            return content.asText();
        }
        if (content.isArray()) {
            StringBuilder text = new StringBuilder();
            for (JsonNode part : content) {
                if (!part.path("type").asText().equals("text") || !part.path("text").isTextual()) {
                    throw new BadLine(where + ".content parts must be {\"type\": \"text\", \"text\": ...}; images"
                            + " and other parts are not supported");
                }
                text.append(part.get("text").asText());
            }
            return text.toString();
        }
        if (role.equals("tool") && content.isObject()) {
            return json.convertValue(content, MAP);
        }
        throw new BadLine(where + ".content must be a string, got " + kind(content));
    }

    private RawExample.Completion completion(int line, JsonNode root) throws BadLine {
        JsonNode prompt = root.get("prompt");
        JsonNode completion = root.get("completion");
        if (prompt == null || !prompt.isTextual()) {
            throw new BadLine("\"prompt\" must be a string" + (prompt == null ? " and is missing" : ", got "
                    + kind(prompt)));
        }
        if (completion == null || !completion.isTextual() || completion.asText().isEmpty()) {
            throw new BadLine("\"completion\" must be a non-empty string" + (completion == null ? " and is missing"
                    : ", got " + kind(completion)));
        }
        return new RawExample.Completion(line, prompt.asText(), completion.asText());
    }

    private static String kind(JsonNode n) {
        if (n == null || n.isNull()) {
            return "null";
        }
        return switch (n.getNodeType()) {
            case ARRAY -> "an array";
            case OBJECT -> "an object";
            case STRING -> "a string";
            case NUMBER -> "a number";
            case BOOLEAN -> "a boolean";
            default -> n.getNodeType().toString().toLowerCase();
        };
    }

    private static LineResult problem(Path file, int line, String message) {
        return new LineResult(null, null, new DatasetException.Problem(file, line, message));
    }

    /** A problem with the current line; caught per line so the reader can go on to the next. */
    private static final class BadLine extends Exception {
        private static final long serialVersionUID = 1L;

        BadLine(String message) {
            super(message, null, false, false);
        }
    }
}
