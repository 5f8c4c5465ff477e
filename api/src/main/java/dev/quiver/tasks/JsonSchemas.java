package dev.quiver.tasks;

import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.Error;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaException;
import com.networknt.schema.SchemaLocation;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import com.networknt.schema.path.NodePath;
import dev.quiver.http.ApiException;
import jakarta.inject.Singleton;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * JSON Schema (draft 2020-12, offline: the meta-schemas ship in the validator's jar) for task inputs and
 * outputs. Every violation names the field it is about in the caller's terms, e.g.
 * {@code input.priority: does not have a value in the enumeration ["low", "high"]}.
 */
@Singleton
public class JsonSchemas {
    /** One failed constraint: {@code path} is like {@code input.items[2].name}. */
    public record Violation(String path, String message) {
        @Override
        public String toString() {
            return path + ": " + message;
        }
    }

    private static final String META_SCHEMA = "https://json-schema.org/draft/2020-12/schema";
    private static final int CACHE_SIZE = 256;
    private static final Set<String> REFERENCES = Set.of("$ref", "$dynamicRef", "$recursiveRef");
    /** Keywords whose values are instance data, not schemas: a "$ref" inside them is no reference. */
    private static final Set<String> DATA = Set.of("const", "enum", "default", "examples");

    private final SchemaRegistry registry = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12);
    private final Schema metaSchema = registry.getSchema(SchemaLocation.of(META_SCHEMA));
    private final Map<String, Schema> compiled = Collections.synchronizedMap(
            new LinkedHashMap<>(16, 0.75f, true) {
                @Override
                protected boolean removeEldestEntry(Map.Entry<String, Schema> eldest) {
                    return size() > CACHE_SIZE;
                }
            });

    /**
     * Checks that {@code schema} is a valid JSON Schema; with {@code mustBeObject}, one for JSON objects
     * (function parameters and MCP input schemas must be). A problem is a 400 naming {@code field}.
     */
    public void requireValid(String field, JsonNode schema, boolean mustBeObject) {
        if (schema == null || !schema.isObject()) {
            throw ApiException.invalid(field, field + " must be a JSON Schema object, e.g. {\"type\": \"object\","
                    + " \"properties\": {...}, \"required\": [...]}");
        }
        List<Violation> problems = violations(metaSchema, schema, field);
        if (!problems.isEmpty()) {
            throw ApiException.invalid(problems.get(0).path(), field + " is not a valid JSON Schema (draft 2020-12): "
                    + join(problems));
        }
        if (mustBeObject && !"object".equals(schema.path("type").asText())) {
            throw ApiException.invalid(field + ".type", field + " must describe a JSON object (\"type\": \"object\"):"
                    + " agents pass a tool's arguments as one object");
        }
        requireLocalReferences(field, schema);
        try {
            compile(schema);
        } catch (SchemaException | IllegalArgumentException e) {
            throw ApiException.invalid(field, field + " cannot be compiled: " + e.getMessage());
        }
    }

    /**
     * Refuses {@code $ref}s to other documents ({@code https:}, {@code file:}, relative files): resolving them
     * would make the server fetch URLs or read its own files on every invoke, and fail there, not here.
     */
    private static void requireLocalReferences(String path, JsonNode node) {
        if (node.isArray()) {
            for (int i = 0; i < node.size(); i++) {
                requireLocalReferences(path + "[" + i + "]", node.get(i));
            }
            return;
        }
        if (!node.isObject()) {
            return;
        }
        for (Map.Entry<String, JsonNode> member : node.properties()) {
            String key = member.getKey();
            JsonNode value = member.getValue();
            String at = path + "." + key;
            if (REFERENCES.contains(key) && value.isTextual() && !value.asText().startsWith("#")) {
                throw ApiException.invalid(at, at + " is '" + value.asText() + "', a reference to another document;"
                        + " only references within the schema are allowed: put the referenced schema under \"$defs\""
                        + " and refer to it as \"#/$defs/name\"");
            }
            if (!DATA.contains(key)) {
                requireLocalReferences(at, value);
            }
        }
    }

    /** Everything about {@code value} that {@code schema} rejects, with paths under {@code root}. */
    public List<Violation> validate(JsonNode schema, JsonNode value, String root) {
        return violations(compile(schema), value, root);
    }

    /** The violations as one line, e.g. for an error message. */
    public static String join(List<Violation> violations) {
        return String.join("; ", violations.stream().map(Violation::toString).toList());
    }

    private Schema compile(JsonNode schema) {
        return compiled.computeIfAbsent(schema.toString(), text -> registry.getSchema(schema));
    }

    private static List<Violation> violations(Schema schema, JsonNode value, String root) {
        Set<Violation> out = new LinkedHashSet<>();
        for (Error e : schema.validate(value)) {
            String path = path(root, e.getInstanceLocation());
            switch (e.getKeyword() == null ? "" : e.getKeyword()) {
                case "required" -> out.add(new Violation(member(path, e.getProperty()), "is required"));
                case "additionalProperties", "unevaluatedProperties" -> out.add(new Violation(
                        member(path, e.getProperty()), "is not allowed: the schema does not define it"));
                default -> out.add(new Violation(path, e.getMessage()));
            }
        }
        return new ArrayList<>(out);
    }

    private static String path(String root, NodePath location) {
        StringBuilder path = new StringBuilder(root);
        for (int i = 0; i < location.getNameCount(); i++) {
            Object element = location.getElement(i);
            if (element instanceof Integer index) {
                path.append('[').append(index).append(']');
            } else {
                path.append('.').append(element);
            }
        }
        return path.toString();
    }

    private static String member(String path, String property) {
        return property == null ? path : path + "." + property;
    }
}
