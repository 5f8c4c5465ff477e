package dev.quiver.declared;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * A file in a directory laid out as the kubelet lays out a ConfigMap or Secret volume: {@code NAME} links to
 * {@code ..data/NAME}, {@code ..data} links to a timestamped directory, and an update writes a new directory
 * and swaps the {@code ..data} link atomically.
 */
final class MountedFile {
    private final Path dir;
    private final String name;
    private int generation;

    MountedFile(Path dir, String name) {
        this.dir = dir;
        this.name = name;
    }

    Path path() {
        return dir.resolve(name);
    }

    void write(String content) throws IOException {
        Files.createDirectories(dir);
        Path version = dir.resolve("..2025_01_01_00_00_00." + (++generation));
        Files.createDirectories(version);
        Files.writeString(version.resolve(name), content);
        Path next = dir.resolve("..data_tmp");
        Files.deleteIfExists(next);
        Files.createSymbolicLink(next, version.getFileName());
        Files.move(next, dir.resolve("..data"), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        if (!Files.isSymbolicLink(path())) {
            Files.createSymbolicLink(path(), Path.of("..data", name));
        }
    }
}
