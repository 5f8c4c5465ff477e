package dev.quiver.declared;

import dev.quiver.server.Hashes;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * A mounted file whose content is compared, not its modification time: Kubernetes updates a ConfigMap or
 * Secret volume by swapping a symlink, which leaves the visible file's mtime meaningless.
 */
final class WatchedFile {
    /** What the file held when read, with the SHA-256 of its text. */
    record Content(String text, String sha256) {
    }

    private final Path path;

    WatchedFile(Path path) {
        this.path = path;
    }

    Path path() {
        return path;
    }

    /** The current content; empty while the file does not exist. */
    Optional<Content> read() throws IOException {
        try {
            String text = Files.readString(path);
            return Optional.of(new Content(text, Hashes.sha256(text)));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
    }
}
