package dev.quiver.adapters.tokenizer.jinja;

import java.util.LinkedHashMap;
import java.util.Map;

/** The object {@code namespace(...)} returns: the one value a template may assign attributes on across loop scopes. */
final class Namespace {
    final Map<String, Object> attrs = new LinkedHashMap<>();
}
