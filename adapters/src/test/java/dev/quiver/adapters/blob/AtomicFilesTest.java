package dev.quiver.adapters.blob;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AtomicFilesTest {

    @TempDir
    Path tmp;

    @Test
    void writeAtomicallyCreatesThenReplacesContentWithoutLeavingTempFiles() throws IOException {
        Path target = tmp.resolve("conf/adapter.json");

        AtomicFiles.writeAtomically(target, "{\"rank\":8}");
        AtomicFiles.writeAtomically(target, "{\"rank\":16}");

        assertThat(target).hasContent("{\"rank\":16}");
        assertThat(entriesOf(tmp.resolve("conf"))).containsExactly(target);
    }

    @Test
    void writeAtomicallyWritesExactBytes() throws IOException {
        Path target = tmp.resolve("weights.bin");
        byte[] content = {0, 1, 2, (byte) 0xff};

        AtomicFiles.writeAtomically(target, content);

        assertThat(target).hasBinaryContent(content);
    }

    @Test
    void writeDirectoryAtomicallyPublishesEverythingTheWriterCreated() throws IOException {
        Path target = tmp.resolve("adapters/summarize");
        AtomicReference<Path> seenTemp = new AtomicReference<>();

        AtomicFiles.writeDirectoryAtomically(target, dir -> {
            seenTemp.set(dir);
            Files.writeString(dir.resolve("adapter_config.json"), "{}");
            Files.createDirectories(dir.resolve("checkpoints"));
            Files.write(dir.resolve("checkpoints/step-10.bin"), new byte[] {1, 2, 3});
        });

        assertThat(seenTemp.get().getParent()).isEqualTo(target.getParent());
        assertThat(seenTemp.get().getFileName().toString()).startsWith(".summarize.tmp-");
        assertThat(target.resolve("adapter_config.json")).hasContent("{}");
        assertThat(target.resolve("checkpoints/step-10.bin")).hasBinaryContent(new byte[] {1, 2, 3});
        assertThat(entriesOf(target.getParent())).containsExactly(target);
    }

    @Test
    void writerFailureRemovesTheTempDirAndRethrowsTheSameException() {
        Path target = tmp.resolve("summarize");
        IOException failure = new IOException("disk full while writing adapter_model.safetensors");

        assertThatThrownBy(() -> AtomicFiles.writeDirectoryAtomically(target, dir -> {
            Files.createDirectories(dir.resolve("nested"));
            Files.writeString(dir.resolve("nested/partial.bin"), "half");
            throw failure;
        })).isSameAs(failure);

        assertThat(entriesOf(tmp)).isEmpty();
    }

    @Test
    void uncheckedWriterFailureAlsoRemovesTheTempDir() {
        Path target = tmp.resolve("summarize");

        assertThatThrownBy(() -> AtomicFiles.writeDirectoryAtomically(target, dir -> {
            Files.writeString(dir.resolve("a.txt"), "a");
            throw new IllegalStateException("bad adapter rank");
        })).isInstanceOf(IllegalStateException.class).hasMessage("bad adapter rank");

        assertThat(entriesOf(tmp)).isEmpty();
    }

    @Test
    void refusesAnExistingTargetWithoutRunningTheWriterOrTouchingIt() throws IOException {
        Path target = Files.createDirectory(tmp.resolve("summarize"));
        Files.writeString(target.resolve("keep.txt"), "old");
        AtomicBoolean writerRan = new AtomicBoolean();

        assertThatThrownBy(() -> AtomicFiles.writeDirectoryAtomically(target, dir -> writerRan.set(true)))
                .isInstanceOf(FileAlreadyExistsException.class)
                .hasMessageContaining(target.toString())
                .hasMessageContaining("delete it first or choose a new name");

        assertThat(writerRan).isFalse();
        assertThat(target.resolve("keep.txt")).hasContent("old");
        assertThat(entriesOf(tmp)).containsExactly(target);
    }

    @Test
    void targetCreatedWhileTheWriterRanIsNotReplaced() throws IOException {
        Path target = tmp.resolve("summarize");

        assertThatThrownBy(() -> AtomicFiles.writeDirectoryAtomically(target, dir -> {
            Files.writeString(dir.resolve("new.txt"), "new");
            Files.createDirectory(target);
        })).isInstanceOf(FileAlreadyExistsException.class);

        assertThat(target).isEmptyDirectory();
        assertThat(entriesOf(tmp)).containsExactly(target);
    }

    private static List<Path> entriesOf(Path dir) {
        try (Stream<Path> list = Files.list(dir)) {
            return list.toList();
        } catch (IOException e) {
            throw new AssertionError("Cannot list " + dir, e);
        }
    }
}
