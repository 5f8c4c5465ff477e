package dev.quiver.declared;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The declared adapters and tasks, as the Helm chart renders them into {@code quiver-declared.yaml}:
 * <pre>
 * adapters:
 *   NAME: {source: "name@version" | "/path/on/the/volume" | "http(s)://...", pinned: true|false}
 * tasks:
 *   TOOL: {description: ..., adapter: ..., promptTemplate: ..., inputSchema: {...}, outputSchema: {...}}
 * </pre>
 * A file that is not of this shape is refused as a whole (and the last good one stays in force); a single
 * adapter whose source is unreadable is kept as {@link DeclaredSource.Invalid}, so that it is reported rather
 * than mistaken for a retired one.
 */
public record DeclaredConfig(Map<String, DeclaredAdapter> adapters, Map<String, DeclaredTask> tasks) {
    /** Nothing declared. */
    public static final DeclaredConfig EMPTY = new DeclaredConfig(Map.of(), Map.of());

    private static final ObjectMapper YAML = new YAMLMapper();
    private static final Set<String> TOP_LEVEL = Set.of("adapters", "tasks");
    private static final Set<String> ADAPTER_FIELDS = Set.of("source", "pinned");
    private static final Set<String> TASK_FIELDS = Set.of("description", "adapter", "promptTemplate", "inputSchema",
            "outputSchema");

    public DeclaredConfig {
        adapters = Collections.unmodifiableMap(new LinkedHashMap<>(adapters));
        tasks = Collections.unmodifiableMap(new LinkedHashMap<>(tasks));
    }

    /** The pinned adapters. */
    public Map<String, DeclaredAdapter> pinned() {
        Map<String, DeclaredAdapter> pinned = new LinkedHashMap<>();
        adapters.forEach((name, a) -> {
            if (a.pinned()) {
                pinned.put(name, a);
            }
        });
        return pinned;
    }

    /** Parses the file's text; {@code where} (the file's path) prefixes every message. */
    public static DeclaredConfig parse(String text, String where) throws DeclaredFileException {
        JsonNode root;
        try {
            root = text.isBlank() ? null : YAML.readTree(text);
        } catch (JsonProcessingException e) {
            throw new DeclaredFileException(where + ": not valid YAML: " + e.getOriginalMessage()
                    + (e.getLocation() == null ? "" : " (line " + e.getLocation().getLineNr() + ")"), e);
        }
        if (root == null || root.isNull() || root.isMissingNode()) {
            return EMPTY;
        }
        if (!root.isObject()) {
            throw new DeclaredFileException(where + ": expected a mapping with 'adapters' and 'tasks', got "
                    + kind(root));
        }
        unknownFields(root, TOP_LEVEL, where, "");
        Map<String, DeclaredAdapter> adapters = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : entries(root.get("adapters"), where, "adapters")) {
            String field = "adapters." + e.getKey();
            JsonNode a = e.getValue();
            if (!a.isObject()) {
                throw new DeclaredFileException(where + ": " + field + " must be a mapping {source, pinned}, got "
                        + kind(a));
            }
            unknownFields(a, ADAPTER_FIELDS, where, field + ".");
            JsonNode pinned = a.get("pinned");
            if (pinned != null && !pinned.isNull() && !pinned.isBoolean()) {
                throw new DeclaredFileException(where + ": " + field + ".pinned must be true or false, got '"
                        + pinned.asText() + "'");
            }
            JsonNode source = a.get("source");
            if (source != null && !source.isNull() && !source.isValueNode()) {
                throw new DeclaredFileException(where + ": " + field + ".source must be a string, got " + kind(source));
            }
            adapters.put(e.getKey(), new DeclaredAdapter(e.getKey(),
                    DeclaredSource.parse(source == null || source.isNull() ? null : source.asText()),
                    pinned != null && pinned.asBoolean()));
        }
        Map<String, DeclaredTask> tasks = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : entries(root.get("tasks"), where, "tasks")) {
            tasks.put(e.getKey(), task(e.getKey(), e.getValue(), where));
        }
        return new DeclaredConfig(adapters, tasks);
    }

    private static DeclaredTask task(String name, JsonNode t, String where) throws DeclaredFileException {
        String field = "tasks." + name;
        if (!t.isObject()) {
            throw new DeclaredFileException(where + ": " + field + " must be a mapping, got " + kind(t));
        }
        unknownFields(t, TASK_FIELDS, where, field + ".");
        return new DeclaredTask(name, text(t, "description", where, field, true), text(t, "adapter", where, field, true),
                text(t, "promptTemplate", where, field, false), schema(t, "inputSchema", where, field),
                schema(t, "outputSchema", where, field));
    }

    private static String text(JsonNode node, String name, String where, String field, boolean required)
            throws DeclaredFileException {
        JsonNode value = node.get(name);
        if (value == null || value.isNull()) {
            if (required) {
                throw new DeclaredFileException(where + ": " + field + "." + name + " is required");
            }
            return null;
        }
        if (!value.isValueNode()) {
            throw new DeclaredFileException(where + ": " + field + "." + name + " must be a string, got " + kind(value));
        }
        return value.asText();
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> schema(JsonNode node, String name, String where, String field)
            throws DeclaredFileException {
        JsonNode value = node.get(name);
        if (value == null || value.isNull()) {
            return Map.of();
        }
        if (!value.isObject()) {
            throw new DeclaredFileException(where + ": " + field + "." + name + " must be a JSON Schema object, got "
                    + kind(value));
        }
        return Collections.unmodifiableMap(YAML.convertValue(value, LinkedHashMap.class));
    }

    private static Iterable<Map.Entry<String, JsonNode>> entries(JsonNode node, String where, String field)
            throws DeclaredFileException {
        if (node == null || node.isNull()) {
            return Collections.emptyList();
        }
        if (!node.isObject()) {
            throw new DeclaredFileException(where + ": " + field + " must be a mapping keyed by name, got " + kind(node));
        }
        Map<String, JsonNode> m = new LinkedHashMap<>();
        node.fields().forEachRemaining(e -> m.put(e.getKey(), e.getValue()));
        return m.entrySet();
    }

    private static void unknownFields(JsonNode node, Set<String> known, String where, String prefix)
            throws DeclaredFileException {
        for (Iterator<String> names = node.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!known.contains(name)) {
                throw new DeclaredFileException(where + ": unknown field '" + prefix + name + "', expected one of "
                        + known.stream().sorted().toList());
            }
        }
    }

    private static String kind(JsonNode node) {
        return node.isArray() ? "a list" : node.isObject() ? "a mapping" : "'" + node.asText() + "'";
    }
}
