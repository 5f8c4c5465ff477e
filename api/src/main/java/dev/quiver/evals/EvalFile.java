package dev.quiver.evals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.quiver.tasks.TaskOutputs;
import dev.quiver.files.FileService;
import dev.quiver.files.StoredFile;
import dev.quiver.http.ApiException;
import io.micronaut.core.annotation.Nullable;
import jakarta.inject.Singleton;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Reads a held-out file for an eval: chat examples whose last message is the assistant's reference
 * answer, each reference valid under the task's output schema. Every bad line is reported at once, with
 * its number, as a 400.
 */
@Singleton
public class EvalFile {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int SHOWN = 10;

    private final FileService files;
    private final TaskOutputs outputs;

    public EvalFile(FileService files, TaskOutputs outputs) {
        this.files = files;
        this.outputs = outputs;
    }

    public List<EvalCase> read(String projectId, String fileId, @Nullable JsonNode outputSchema) {
        StoredFile file;
        try {
            file = files.get(projectId, fileId);
        } catch (ApiException e) {
            throw ApiException.invalid("file", "file '" + fileId + "' does not exist in this project; upload the"
                    + " held-out file with POST /v1/files or build one with POST /v1/tasks/{name}/datasets");
        }
        List<EvalCase> cases = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        try (BufferedReader in = new BufferedReader(new InputStreamReader(files.open(file), StandardCharsets.UTF_8))) {
            String text;
            int line = 0;
            while ((text = in.readLine()) != null) {
                line++;
                if (text.isBlank()) {
                    continue;
                }
                String problem = parse(line, text, outputSchema, cases);
                if (problem != null) {
                    problems.add(file.getFilename() + ":" + line + ": " + problem);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (!problems.isEmpty()) {
            throw ApiException.invalid("file", "file '" + fileId + "' cannot be evaluated on: "
                    + String.join("; ", problems.subList(0, Math.min(SHOWN, problems.size())))
                    + (problems.size() > SHOWN ? "; and " + (problems.size() - SHOWN) + " more" : ""));
        }
        if (cases.isEmpty()) {
            throw ApiException.invalid("file", "file '" + fileId + "' has no examples to evaluate on");
        }
        return cases;
    }

    /** Adds the line's case, or returns what is wrong with it. */
    private String parse(int line, String text, JsonNode schema, List<EvalCase> cases) {
        JsonNode node;
        try {
            node = JSON.readTree(text);
        } catch (IOException e) {
            return "not valid JSON";
        }
        JsonNode messages = node.path("messages");
        if (!messages.isArray() || messages.size() < 2) {
            return "evals take chat examples, {\"messages\": [..., {\"role\": \"assistant\", \"content\": REFERENCE}]},"
                    + " with at least one message before the reference answer";
        }
        JsonNode last = messages.get(messages.size() - 1);
        if (!"assistant".equals(last.path("role").asText()) || !last.path("content").isTextual()) {
            return "the last message must be the assistant's reference answer as text";
        }
        String reference = last.get("content").asText();
        Optional<JsonNode> expected = outputs.read(schema, reference);
        if (expected.isEmpty()) {
            return "the reference answer '" + clip(reference) + "' does not match the task's output_schema";
        }
        ArrayNode prompt = JSON.createArrayNode();
        for (int i = 0; i < messages.size() - 1; i++) {
            prompt.add(messages.get(i));
        }
        cases.add(new EvalCase(line, prompt, reference, expected.get()));
        return null;
    }

    private static String clip(String s) {
        return s.length() > 80 ? s.substring(0, 80) + "..." : s;
    }
}
