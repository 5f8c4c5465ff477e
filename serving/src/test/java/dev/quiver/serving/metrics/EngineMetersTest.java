package dev.quiver.serving.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import dev.quiver.adapters.model.ModelConfig;
import dev.quiver.adapters.model.ModelFamily;
import dev.quiver.adapters.safetensors.DType;
import dev.quiver.serving.http.ServingEngine;
import dev.quiver.serving.runtime.GeneratedToken;
import dev.quiver.serving.runtime.GenerationHandle;
import dev.quiver.serving.runtime.GenerationListener;
import dev.quiver.serving.runtime.GenerationRequest;
import dev.quiver.serving.runtime.InferenceEngine;
import dev.quiver.serving.runtime.SamplingParams;
import dev.quiver.serving.testing.TestModels;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.micronaut.test.extensions.junit5.annotation.MicronautTest;
import io.micronaut.test.support.TestPropertyProvider;
import jakarta.inject.Inject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** The engine's counters as the app's meter registry sees them, after real generations on the tiny model. */
@MicronautTest
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class EngineMetersTest implements TestPropertyProvider {
    private static final int[] PROMPT = {12, 345, 67, 890, 3};

    @Inject
    ServingEngine serving;

    @Inject
    MeterRegistry registry;

    Path root;

    @Override
    public Map<String, String> getProperties() {
        try {
            root = Files.createTempDirectory("quiver-serving-meters");
            Path model = TestModels.tiny(root, ModelFamily.QWEN3);
            // one KV row and one adapter slot: a second request must queue, a second adapter must evict the first
            return Map.of("quiver.base-model.path", model.toString(),
                    "quiver.serving.max-batch", "1",
                    "quiver.serving.lora-slots", "1",
                    "quiver.serving.max-lora-rank", "8",
                    "quiver.serving.threads", "2",
                    "quiver.serving.max-sequence-length", "128");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static SamplingParams greedy(int maxTokens) {
        return SamplingParams.builder().optTemperature(0).optMaxTokens(maxTokens).optIgnoreEos(true).build();
    }

    private double value(String name) {
        Meter meter = registry.get(name).meter();
        return meter.measure().iterator().next().getValue();
    }

    private static double sample(String scrape, String name) {
        Matcher m = Pattern.compile("(?m)^" + name + " (\\S+)$").matcher(scrape);
        assertThat(m.find()).as("%s in the scrape:%n%s", name, scrape).isTrue();
        return Double.parseDouble(m.group(1));
    }

    @Test
    void countsTokensStepsAdapterLoadsEvictionsAndDiskReads() throws Exception {
        InferenceEngine engine = serving.engine();
        ModelConfig config = serving.base().config();
        TestModels.randomAdapter(config, 4, 41).write(root.resolve("x"), DType.F32);
        TestModels.randomAdapter(config, 8, 42).write(root.resolve("y"), DType.F32);
        double reads = value("quiver.serving.adapter.reads");
        double prefill = value("quiver.serving.prefill.tokens");
        double decode = value("quiver.serving.decode.tokens");
        double steps = value("quiver.serving.decode.steps");
        double generated = value("quiver.serving.generated.tokens");
        double loads = value("quiver.serving.adapter.loads");
        double evictions = value("quiver.serving.slot.evictions");

        engine.registerAdapter("x", root.resolve("x"));
        engine.registerAdapter("y", root.resolve("y"));
        assertThat(value("quiver.serving.adapter.reads") - reads).as("one read per registration").isEqualTo(2);

        assertThat(engine.generate(PROMPT, "x", greedy(5)).tokenIds()).hasSize(5);
        assertThat(value("quiver.serving.prefill.tokens") - prefill).isEqualTo(PROMPT.length);
        // the first token comes from the prefill, the other four from one decode step each
        assertThat(value("quiver.serving.decode.steps") - steps).isEqualTo(4);
        assertThat(value("quiver.serving.decode.tokens") - decode).isEqualTo(4);
        assertThat(value("quiver.serving.generated.tokens") - generated).isEqualTo(5);
        assertThat(value("quiver.serving.adapter.loads") - loads).isEqualTo(1);
        assertThat(value("quiver.serving.slot.evictions") - evictions).isZero();

        engine.generate(PROMPT, "y", greedy(2));
        engine.generate(PROMPT, "x", greedy(2));
        assertThat(value("quiver.serving.adapter.loads") - loads).as("x, y, x again").isEqualTo(3);
        assertThat(value("quiver.serving.slot.evictions") - evictions).as("y pushed x out, then x pushed y")
                .isEqualTo(2);
        assertThat(value("quiver.serving.adapter.reads") - reads).as("x came back from the host cache, not disk")
                .isEqualTo(2);
        assertThat(value("quiver.serving.prefill.time")).isPositive();
        assertThat(value("quiver.serving.decode.time")).isPositive();
    }

    @Test
    void queueDepthAndRunningRowsShowARequestWaitingBehindADecodingOne() throws Exception {
        InferenceEngine engine = serving.engine();
        CompletableFuture<GenerationHandle> waiting = new CompletableFuture<>();
        CompletableFuture<double[]> seen = new CompletableFuture<>();
        AtomicInteger tokens = new AtomicInteger();
        GenerationHandle running = engine.submit(new GenerationRequest(PROMPT, null, greedy(12)),
                new GenerationListener() {
                    @Override
                    public void onToken(GeneratedToken token) {
                        int n = tokens.incrementAndGet();
                        if (n == 2) {
                            // the only KV row is taken, so this one queues until the first finishes
                            waiting.complete(engine.submit(new GenerationRequest(PROMPT, null, greedy(2)),
                                    GenerationListener.NONE));
                        } else if (n == 4) {
                            seen.complete(new double[] {value("quiver.serving.queue.depth"),
                                    value("quiver.serving.running.rows")});
                        }
                    }
                });

        assertThat(seen.get(30, TimeUnit.SECONDS)).containsExactly(1, 1);
        running.result().get(30, TimeUnit.SECONDS);
        assertThat(waiting.get(30, TimeUnit.SECONDS).result().get(30, TimeUnit.SECONDS).tokenIds()).hasSize(2);
        assertThat(value("quiver.serving.queue.depth")).isZero();
        assertThat(value("quiver.serving.running.rows")).isZero();
    }

    @Test
    void aPrometheusScrapeNamesThemQuiverServing() throws IOException {
        serving.engine().generate(PROMPT, null, greedy(2));
        PrometheusMeterRegistry prometheus = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        new EngineMeters(() -> serving).bindTo(prometheus);

        String scrape = prometheus.scrape();
        assertThat(sample(scrape, "quiver_serving_queue_depth")).isZero();
        assertThat(sample(scrape, "quiver_serving_running_rows")).isZero();
        assertThat(sample(scrape, "quiver_serving_prefill_tokens_total")).isGreaterThanOrEqualTo(PROMPT.length);
        assertThat(sample(scrape, "quiver_serving_decode_tokens_total")).isGreaterThanOrEqualTo(1);
        assertThat(sample(scrape, "quiver_serving_generated_tokens_total")).isGreaterThanOrEqualTo(2);
        assertThat(sample(scrape, "quiver_serving_decode_steps_total")).isGreaterThanOrEqualTo(1);
        assertThat(sample(scrape, "quiver_serving_prefill_time_seconds_total")).isPositive();
        assertThat(sample(scrape, "quiver_serving_decode_time_seconds_total")).isPositive();
        assertThat(sample(scrape, "quiver_serving_adapter_loads_total")).isNotNegative();
        assertThat(sample(scrape, "quiver_serving_slot_evictions_total")).isNotNegative();
        assertThat(sample(scrape, "quiver_serving_adapter_reads_total")).isNotNegative();
    }
}
