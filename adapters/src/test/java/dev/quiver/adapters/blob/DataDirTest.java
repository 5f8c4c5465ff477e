package dev.quiver.adapters.blob;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class DataDirTest {

    @TempDir
    Path tmp;

    @Test
    void createsMissingRootAndKeepsItsRealAbsolutePath() throws IOException {
        Path requested = tmp.resolve("x/../quiver-data/nested");

        DataDir dataDir = new DataDir(requested);

        assertThat(dataDir.root()).isDirectory();
        assertThat(dataDir.root()).isEqualTo(tmp.toRealPath().resolve("quiver-data/nested"));
    }

    @Test
    void rootGivenThroughSymlinkIsStoredAsItsRealTarget() throws IOException {
        Path real = Files.createDirectory(tmp.resolve("real"));
        Path link = Files.createSymbolicLink(tmp.resolve("link"), real);

        DataDir dataDir = new DataDir(link);

        assertThat(dataDir.root()).isEqualTo(real.toRealPath());
        assertThat(dataDir.resolve("models/m1")).isEqualTo(real.toRealPath().resolve("models/m1"));
    }

    @Test
    void resolvesNestedRelativePathThatDoesNotExistYet() {
        DataDir dataDir = new DataDir(tmp.resolve("data"));

        Path resolved = dataDir.resolve("models/m1");

        assertThat(resolved).isEqualTo(dataDir.root().resolve("models").resolve("m1"));
        assertThat(resolved).doesNotExist();
    }

    @Test
    void dotDotThatStaysInsideIsNormalizedAway() {
        DataDir dataDir = new DataDir(tmp.resolve("data"));

        assertThat(dataDir.resolve("a/../b")).isEqualTo(dataDir.root().resolve("b"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"../outside", "/etc/passwd", "a/../../b", "..", "models/../../data-evil"})
    void refusesPathsThatEscapeTheRoot(String escaping) {
        DataDir dataDir = new DataDir(tmp.resolve("data"));

        assertThatThrownBy(() -> dataDir.resolve(escaping))
                .isInstanceOf(PathOutsideDataDirException.class)
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'" + escaping + "'")
                .hasMessageContaining(dataDir.root().toString())
                .hasMessageContaining("Use a relative path inside the data dir");
    }

    @Test
    void refusesSiblingDirectoryWhoseNameStartsWithTheRootName() {
        // A plain string prefix check would let "data-evil" pass as being inside "data".
        DataDir dataDir = new DataDir(tmp.resolve("data"));

        assertThatThrownBy(() -> dataDir.resolve("../data-evil/x"))
                .isInstanceOf(PathOutsideDataDirException.class);
    }

    @Test
    void refusesSymlinkInsideRootThatPointsOutside() throws IOException {
        DataDir dataDir = new DataDir(tmp.resolve("data"));
        Path outside = Files.createDirectory(tmp.resolve("outside"));
        Files.createSymbolicLink(dataDir.root().resolve("escape"), outside);

        assertThatThrownBy(() -> dataDir.resolve("escape"))
                .isInstanceOf(PathOutsideDataDirException.class)
                .hasMessageContaining("symbolic link")
                .hasMessageContaining(outside.toRealPath().toString());
        assertThatThrownBy(() -> dataDir.resolve("escape/not-yet-created/file.bin"))
                .isInstanceOf(PathOutsideDataDirException.class)
                .hasMessageContaining("'escape/not-yet-created/file.bin'");
    }

    @Test
    void refusesDanglingSymlinkBecauseWritingThroughItWouldCreateItsTarget() throws IOException {
        DataDir dataDir = new DataDir(tmp.resolve("data"));
        Path missingOutside = tmp.resolve("outside-missing/file");
        Files.createSymbolicLink(dataDir.root().resolve("dangling"), missingOutside);

        assertThatThrownBy(() -> dataDir.resolve("dangling"))
                .isInstanceOf(PathOutsideDataDirException.class)
                .hasMessageContaining("does not exist");
    }

    @Test
    void acceptsSymlinkThatStaysInsideTheRoot() throws IOException {
        DataDir dataDir = new DataDir(tmp.resolve("data"));
        Files.createDirectories(dataDir.root().resolve("models/v2"));
        Files.createSymbolicLink(dataDir.root().resolve("current"), dataDir.root().resolve("models/v2"));

        assertThat(dataDir.resolve("current/weights.bin"))
                .isEqualTo(dataDir.root().resolve("current/weights.bin"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "  "})
    void refusesBlankPathRatherThanHandingOutTheWholeRoot(String blank) {
        DataDir dataDir = new DataDir(tmp.resolve("data"));

        assertThatThrownBy(() -> dataDir.resolve(blank))
                .isInstanceOf(PathOutsideDataDirException.class)
                .hasMessageContaining("empty");
    }

    @Test
    void refusesPathWithNulCharacter() {
        DataDir dataDir = new DataDir(tmp.resolve("data"));

        assertThatThrownBy(() -> dataDir.resolve("models/m1\0.bin"))
                .isInstanceOf(PathOutsideDataDirException.class)
                .hasMessageContaining("not a valid path");
    }

    @Test
    void refusesRootThatIsARegularFile() throws IOException {
        Path file = Files.writeString(tmp.resolve("not-a-dir"), "x");

        assertThatThrownBy(() -> new DataDir(file))
                .hasMessageContaining(file.toString())
                .hasMessageContaining("--data-dir");
    }
}
