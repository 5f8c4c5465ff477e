package dev.quiver.cli;

import dev.quiver.adapters.demo.DemoModelMaker;
import dev.quiver.adapters.demo.DemoSize;
import dev.quiver.adapters.model.ModelFamily;
import dev.quiver.adapters.safetensors.DType;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;

/** The base model of a server started without {@code --base-model}: the small demo, generated once. */
final class DemoBaseModel {
    static final String NAME = "demo-qwen3-small";

    private DemoBaseModel() {
    }

    /** Returns the demo model directory in {@code dataDir}, generating it on first use. */
    static Path ensure(Path dataDir, PrintWriter log) throws IOException {
        Path dir = dataDir.toAbsolutePath().normalize().resolve("models").resolve(NAME);
        if (!Files.exists(dir.resolve("config.json"))) {
            log.println("quiver: generating the demo base model " + NAME + " in " + dir + " (once)");
            log.flush();
            DemoModelMaker.write(dir, new DemoModelMaker.Spec(ModelFamily.QWEN3, DemoSize.SMALL, 42, DType.BF16));
        }
        return dir;
    }
}
