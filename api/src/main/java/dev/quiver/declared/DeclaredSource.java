package dev.quiver.declared;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;

/**
 * Where a declared adapter comes from, as written in the declared file's {@code source}: a registry version
 * ({@code name@version}), a PEFT directory on the shared volume ({@code /path}), or an http(s) URL of an
 * archive or of a directory holding the two PEFT files.
 */
public sealed interface DeclaredSource {

    /** The source as declared; two declarations with the same text mean the same source. */
    String text();

    /** A version already in the registry; declaring it only records it (an alias), nothing is copied. */
    record Registry(String text, String name, int version) implements DeclaredSource {
        /** The registry reference, {@code name@version}. */
        public String reference() {
            return name + "@" + version;
        }
    }

    /** A PEFT directory on the volume the control plane mounts. */
    record VolumePath(String text, Path path) implements DeclaredSource {
    }

    /** A PEFT adapter to download: a .zip, .tar.gz or .tgz archive, or a base URL of the two files. */
    record Url(String text, URI uri) implements DeclaredSource {
    }

    /** A source that is none of the above; kept (not dropped) so that it is reported, never retired. */
    record Invalid(String text, String reason) implements DeclaredSource {
    }

    /** Reads a declared {@code source}; never throws, an unreadable one is {@link Invalid}. */
    static DeclaredSource parse(String text) {
        if (text == null || text.isBlank()) {
            return new Invalid(String.valueOf(text), "source is empty; expected name@version, /path/on/the/volume"
                    + " or an http(s) URL");
        }
        String s = text.strip();
        if (s.startsWith("/")) {
            return new VolumePath(s, Path.of(s).normalize());
        }
        if (s.regionMatches(true, 0, "http://", 0, 7) || s.regionMatches(true, 0, "https://", 0, 8)) {
            try {
                URI uri = new URI(s);
                if (uri.getHost() == null) {
                    return new Invalid(s, "URL '" + s + "' has no host");
                }
                return new Url(s, uri);
            } catch (URISyntaxException e) {
                return new Invalid(s, "'" + s + "' is not a valid URL: " + e.getMessage());
            }
        }
        int at = s.lastIndexOf('@');
        if (at > 0 && at < s.length() - 1) {
            try {
                int version = Integer.parseInt(s.substring(at + 1));
                if (version > 0) {
                    return new Registry(s, s.substring(0, at), version);
                }
            } catch (NumberFormatException e) {
                // falls through to the message below
            }
            return new Invalid(s, "'" + s + "': the version after '@' must be a registry version number (1, 2, ...)");
        }
        return new Invalid(s, "'" + s + "' is none of name@version, /path/on/the/volume, http(s)://url");
    }
}
