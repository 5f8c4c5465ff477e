package dev.quiver.serving.constraint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dk.brics.automaton.Automaton;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Compiles a JSON Schema into the automaton of the compact JSON texts it admits (object members in the
 * declared order, no extra members). The language is a subset of the schema's instances, never a superset:
 * every accepted text validates. Keywords it cannot enforce are refused with their path, never ignored.
 */
final class SchemaCompiler {
    private static final Set<String> ANNOTATIONS = Set.of("title", "description", "$schema", "$id", "$comment",
            "default", "examples", "deprecated", "readOnly", "writeOnly", "$defs", "definitions");
    private static final Set<String> KEYWORDS = Set.of("type", "enum", "const", "properties", "required",
            "additionalProperties", "items", "minItems", "maxItems", "minLength", "maxLength", "pattern", "format",
            "anyOf", "oneOf", "$ref");
    private static final List<String> TYPES = List.of("object", "array", "string", "number", "integer", "boolean",
            "null");

    private final JsonNode root;
    private final Deque<String> refs = new ArrayDeque<>();
    private final Map<String, Automaton> resolved = new HashMap<>();

    private SchemaCompiler(JsonNode root) {
        this.root = root;
    }

    /** The automaton of {@code schema}'s compact texts; {@code path} is where the schema sits in the request. */
    static Automaton compile(JsonNode schema, String path) {
        Automaton a = new SchemaCompiler(schema).schema(schema, path);
        if (a.isEmpty()) {
            throw new ConstraintException(path, "schema", "the schema admits no value");
        }
        return JsonText.minimal(a);
    }

    private Automaton schema(JsonNode s, String path) {
        if (s.isBoolean()) {
            if (!s.asBoolean()) {
                throw new ConstraintException(path, "false", "the schema false admits no value");
            }
            return JsonText.anyValue();
        }
        if (!s.isObject()) {
            throw new ConstraintException(path, "schema", "a schema must be an object or a boolean, got " + s);
        }
        for (Iterator<String> it = s.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!KEYWORDS.contains(k) && !ANNOTATIONS.contains(k)) {
                throw new ConstraintException(path + "." + k, k, "keyword '" + k + "' is not supported by"
                        + " constrained decoding (supported: " + String.join(", ", KEYWORDS.stream().sorted()
                        .toList()) + ")");
            }
        }
        List<Automaton> parts = new ArrayList<>();
        if (s.has("$ref")) {
            parts.add(ref(s.get("$ref"), path + ".$ref"));
        }
        if (s.has("enum")) {
            parts.add(enumeration(s.get("enum"), path + ".enum"));
        }
        if (s.has("const")) {
            parts.add(JsonText.literal(s.get("const")));
        }
        if (s.has("anyOf")) {
            parts.add(Automaton.union(branches(s.get("anyOf"), path + ".anyOf")));
        }
        if (s.has("oneOf")) {
            parts.add(exactlyOne(branches(s.get("oneOf"), path + ".oneOf")));
        }
        List<String> types = types(s, path);
        if (!types.isEmpty()) {
            List<Automaton> alternatives = new ArrayList<>();
            for (String t : types) {
                alternatives.add(ofType(t, s, path));
            }
            parts.add(Automaton.union(alternatives));
        }
        if (parts.isEmpty()) {
            return JsonText.anyValue();
        }
        Automaton a = parts.get(0);
        for (int i = 1; i < parts.size(); i++) {
            a = a.intersection(parts.get(i));
        }
        return a;
    }

    /** The declared types, or the one that the type-specific keywords imply; empty when nothing says. */
    private List<String> types(JsonNode s, String path) {
        JsonNode t = s.get("type");
        List<String> out = new ArrayList<>();
        if (t == null) {
            if (s.has("properties") || s.has("required") || s.has("additionalProperties")) {
                out.add("object");
            } else if (s.has("items") || s.has("minItems") || s.has("maxItems")) {
                out.add("array");
            } else if (s.has("minLength") || s.has("maxLength") || s.has("pattern") || s.has("format")) {
                out.add("string");
            }
            return out;
        }
        List<JsonNode> listed = new ArrayList<>();
        if (t.isArray()) {
            t.forEach(listed::add);
        } else {
            listed.add(t);
        }
        for (JsonNode n : listed) {
            if (!n.isTextual() || !TYPES.contains(n.asText())) {
                throw new ConstraintException(path + ".type", "type", "unknown type " + n + "; use one of " + TYPES);
            }
            out.add(n.asText());
        }
        if (out.isEmpty()) {
            throw new ConstraintException(path + ".type", "type", "type lists no type");
        }
        return out;
    }

    private Automaton ofType(String type, JsonNode s, String path) {
        return switch (type) {
            case "object" -> object(s, path);
            case "array" -> array(s, path);
            case "string" -> string(s, path);
            case "number" -> JsonText.number();
            case "integer" -> JsonText.integer();
            case "boolean" -> JsonText.bool();
            default -> JsonText.nul();
        };
    }

    private Automaton object(JsonNode s, String path) {
        JsonNode properties = s.get("properties");
        if (properties != null && !properties.isObject()) {
            throw new ConstraintException(path + ".properties", "properties", "properties must be an object");
        }
        JsonNode additional = s.get("additionalProperties");
        if (additional != null) {
            if (additional.isObject()) {
                schema(additional, path + ".additionalProperties");
            } else if (!additional.isBoolean()) {
                throw new ConstraintException(path + ".additionalProperties", "additionalProperties",
                        "additionalProperties must be a boolean or a schema");
            }
        }
        Map<String, Automaton> members = new LinkedHashMap<>();
        if (properties != null) {
            properties.fields().forEachRemaining(e -> members.put(e.getKey(), JsonText.minimal(
                    JsonText.literal(TextNode.valueOf(e.getKey())).concatenate(JsonText.literal(":"))
                            .concatenate(schema(e.getValue(), path + ".properties." + e.getKey())))));
        }
        List<String> required = required(s, path, members);
        if (members.isEmpty()) {
            // nothing declared: any object, unless extra members are forbidden
            return additional != null && additional.isBoolean() && !additional.asBoolean()
                    ? JsonText.literal("{}") : JsonText.anyObject();
        }
        List<Boolean> mandatory = members.keySet().stream().map(required::contains).toList();
        return JsonText.literal("{").concatenate(ObjectMembers.of(new ArrayList<>(members.values()), mandatory))
                .concatenate(JsonText.literal("}"));
    }

    private static List<String> required(JsonNode s, String path, Map<String, Automaton> members) {
        JsonNode required = s.get("required");
        List<String> out = new ArrayList<>();
        if (required == null) {
            return out;
        }
        if (!required.isArray()) {
            throw new ConstraintException(path + ".required", "required", "required must be an array of names");
        }
        for (int i = 0; i < required.size(); i++) {
            String name = required.get(i).asText();
            if (!members.containsKey(name)) {
                throw new ConstraintException(path + ".required[" + i + "]", "required", "required property '"
                        + name + "' has no schema in properties; declare it there");
            }
            out.add(name);
        }
        return out;
    }

    private Automaton array(JsonNode s, String path) {
        int min = count(s, "minItems", path, 0);
        int max = count(s, "maxItems", path, -1);
        if (max >= 0 && max < min) {
            throw new ConstraintException(path + ".maxItems", "maxItems", "maxItems " + max + " is below minItems "
                    + min);
        }
        JsonNode items = s.get("items");
        Automaton item = items == null ? JsonText.anyValue() : schema(items, path + ".items");
        return JsonText.array(JsonText.minimal(item), min, max);
    }

    private Automaton string(JsonNode s, String path) {
        int min = count(s, "minLength", path, 0);
        int max = count(s, "maxLength", path, -1);
        if (max >= 0 && max < min) {
            throw new ConstraintException(path + ".maxLength", "maxLength", "maxLength " + max
                    + " is below minLength " + min);
        }
        boolean lengths = s.has("minLength") || s.has("maxLength");
        // a pattern or format alone decides the content: intersecting with any-length strings only costs time
        Automaton content = null;
        if (s.has("pattern")) {
            JsonNode p = s.get("pattern");
            if (!p.isTextual()) {
                throw new ConstraintException(path + ".pattern", "pattern", "pattern must be a string");
            }
            // a pattern's text is written unescaped, so the decoded value is the text the pattern matched
            content = RegexParser.parse(p.asText(), path + ".pattern", "pattern")
                    .intersection(JsonText.unescaped().repeat());
        }
        if (s.has("format")) {
            Automaton format = Formats.of(s.get("format"), path + ".format");
            content = content == null ? format : content.intersection(format);
        }
        Automaton a;
        if (content == null) {
            a = JsonText.string(min, max);
        } else if (lengths) {
            a = JsonText.string(min, max).intersection(JsonText.quoted(content));
        } else {
            a = JsonText.quoted(content);
        }
        if (a.isEmpty()) {
            throw new ConstraintException(path, "pattern", "no string satisfies this schema's length, pattern"
                    + " and format together (unescaped characters only)");
        }
        return a;
    }

    private static int count(JsonNode s, String keyword, String path, int fallback) {
        JsonNode v = s.get(keyword);
        if (v == null) {
            return fallback;
        }
        if (!v.isIntegralNumber() || v.asLong() < 0 || v.asLong() > 10_000) {
            throw new ConstraintException(path + "." + keyword, keyword, keyword
                    + " must be an integer between 0 and 10000, got " + v);
        }
        return v.asInt();
    }

    private Automaton enumeration(JsonNode values, String path) {
        if (!values.isArray() || values.isEmpty()) {
            throw new ConstraintException(path, "enum", "enum must be a non-empty array");
        }
        List<Automaton> literals = new ArrayList<>();
        values.forEach(v -> literals.add(JsonText.literal(v)));
        return Automaton.union(literals);
    }

    private List<Automaton> branches(JsonNode list, String path) {
        String keyword = path.substring(path.lastIndexOf('.') + 1);
        if (!list.isArray() || list.isEmpty()) {
            throw new ConstraintException(path, keyword, keyword + " must be a non-empty array of schemas");
        }
        List<Automaton> out = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            out.add(JsonText.minimal(schema(list.get(i), path + "[" + i + "]")));
        }
        return out;
    }

    /** oneOf: the texts exactly one branch admits, so that a value matching two branches is never written. */
    private static Automaton exactlyOne(List<Automaton> branches) {
        List<Automaton> only = new ArrayList<>();
        for (int i = 0; i < branches.size(); i++) {
            Automaton a = branches.get(i);
            for (int j = 0; j < branches.size(); j++) {
                if (j != i) {
                    a = a.minus(branches.get(j));
                }
            }
            only.add(a);
        }
        return Automaton.union(only);
    }

    private Automaton ref(JsonNode ref, String path) {
        if (!ref.isTextual() || !ref.asText().startsWith("#")) {
            throw new ConstraintException(path, "$ref", "only local references (#/$defs/Name) are supported, got "
                    + ref);
        }
        String pointer = ref.asText();
        if (refs.contains(pointer)) {
            throw new ConstraintException(path, "$ref", "recursive $ref '" + pointer + "' is not supported:"
                    + " constrained decoding needs a bounded nesting depth");
        }
        Automaton done = resolved.get(pointer);
        if (done != null) {
            return done.clone();
        }
        JsonNode target = root.at(pointer.substring(1));
        if (target.isMissingNode()) {
            throw new ConstraintException(path, "$ref", "$ref '" + pointer + "' points at nothing in this schema");
        }
        refs.push(pointer);
        try {
            Automaton a = JsonText.minimal(schema(target, path + "(" + pointer + ")"));
            resolved.put(pointer, a);
            return a.clone();
        } finally {
            refs.pop();
        }
    }
}
