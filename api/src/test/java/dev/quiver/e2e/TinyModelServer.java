package dev.quiver.e2e;

import dev.quiver.adapters.demo.DemoModelMaker;
import dev.quiver.adapters.demo.DemoSize;
import dev.quiver.adapters.model.ModelFamily;
import dev.quiver.adapters.safetensors.DType;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/** Server properties for an end-to-end test: the generated tiny model as base, a fresh data dir, fast polling. */
public final class TinyModelServer {
    private TinyModelServer() {
    }

    /** Generates {@code qwen3-tiny} into a new temp dir named after {@code prefix} and returns the properties. */
    public static Map<String, String> properties(String prefix) {
        try {
            Path root = Files.createTempDirectory(prefix);
            Path model = root.resolve("qwen3-tiny");
            DemoModelMaker.write(model, new DemoModelMaker.Spec(ModelFamily.QWEN3, DemoSize.TINY, 7, DType.F32));
            return Map.of("quiver.base-model.path", model.toString(),
                    "quiver.data-dir", root.resolve("data").toString(),
                    "quiver.jobs.poll-interval", "200ms",
                    "quiver.jobs.runner-threads", "1",
                    "quiver.jobs.runner-heap", "1g",
                    "micronaut.http.client.read-timeout", "300s");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
