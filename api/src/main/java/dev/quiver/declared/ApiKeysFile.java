package dev.quiver.declared;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * The pre-provisioned API keys as the Helm chart renders them ({@code quiver.auth.keys-file}):
 * {@code keys: {NAME: {project: PROJECT, key: qk-..., admin: false}}} ({@code admin} optional). Messages never
 * quote a key.
 */
public final class ApiKeysFile {
    /** One key to provision. */
    public record Entry(String name, String project, String key, boolean admin) {
        @Override
        public String toString() {
            return "Entry[name=" + name + ", project=" + project + ", key=" + key.substring(0, Math.min(6, key.length()))
                    + "…, admin=" + admin + "]";
        }
    }

    private ApiKeysFile() {
    }

    /** Parses the file's text; {@code where} (the file's path) prefixes every message. */
    public static List<Entry> parse(String text, String where) throws DeclaredFileException {
        JsonNode root;
        try {
            root = text.isBlank() ? null : new YAMLMapper().readTree(text);
        } catch (JsonProcessingException e) {
            // the message would quote the offending text: a key
            throw new DeclaredFileException(where + ": not valid YAML"
                    + (e.getLocation() == null ? "" : " (line " + e.getLocation().getLineNr() + ")"));
        }
        List<Entry> entries = new ArrayList<>();
        if (root == null || root.isNull() || root.isMissingNode()) {
            return entries;
        }
        if (!root.isObject() || (root.size() > 0 && !root.has("keys")) || root.size() > 1) {
            throw new DeclaredFileException(where + ": expected a mapping with one field 'keys'");
        }
        JsonNode keys = root.get("keys");
        if (keys == null || keys.isNull()) {
            return entries;
        }
        if (!keys.isObject()) {
            throw new DeclaredFileException(where + ": keys must be a mapping of name to {project, key, admin}");
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = keys.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            JsonNode k = e.getValue();
            boolean hasAdmin = k.has("admin");
            if (!k.isObject() || !k.path("project").isTextual() || !k.path("key").isTextual()
                    || (hasAdmin && !k.get("admin").isBoolean()) || k.size() != (hasAdmin ? 3 : 2)) {
                throw new DeclaredFileException(where + ": keys." + e.getKey() + " must be {project: PROJECT,"
                        + " key: qk-...} with an optional admin: true|false");
            }
            entries.add(new Entry(e.getKey(), k.get("project").asText(), k.get("key").asText(),
                    hasAdmin && k.get("admin").asBoolean()));
        }
        return entries;
    }
}
