package dev.quiver.serving.metrics;

import dev.quiver.serving.http.ServingEngine;
import dev.quiver.serving.runtime.EngineStats;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.micronaut.context.BeanProvider;
import io.micronaut.context.annotation.Requires;
import jakarta.inject.Singleton;
import java.util.function.ToDoubleFunction;

/**
 * The serving engine's queue, batch, token and adapter counters as meters, read from
 * {@link dev.quiver.serving.runtime.InferenceEngine#stats()} at each scrape; in Prometheus they are
 * {@code quiver_serving_*}, and tokens/s is {@code rate(quiver_serving_decode_tokens_total[1m])}.
 * The engine is looked up lazily: the registry binds this when it is created, which must not compile the model.
 */
@Singleton
@Requires(beans = ServingEngine.class)
@Requires(classes = MeterRegistry.class)
public class EngineMeters implements MeterBinder {
    private final BeanProvider<ServingEngine> serving;

    public EngineMeters(BeanProvider<ServingEngine> serving) {
        this.serving = serving;
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        gauge(registry, "quiver.serving.queue.depth", "Requests queued and not started yet", EngineStats::queueDepth);
        gauge(registry, "quiver.serving.running.rows", "Sequences decoding now", EngineStats::runningRows);
        counter(registry, "quiver.serving.prefill.tokens", null, "Prompt tokens prefilled",
                EngineStats::prefillTokens);
        counter(registry, "quiver.serving.decode.tokens", null,
                "Sequence-steps decoded (the sum of the batch sizes of all decode steps)", EngineStats::decodeTokens);
        counter(registry, "quiver.serving.generated.tokens", null, "Tokens generated for requests",
                EngineStats::generatedTokens);
        counter(registry, "quiver.serving.decode.steps", null, "Decode steps run", EngineStats::decodeSteps);
        counter(registry, "quiver.serving.prefill.time", "seconds", "Time spent in prefill steps",
                s -> s.prefillNanos() / 1e9);
        counter(registry, "quiver.serving.decode.time", "seconds", "Time spent in decode steps",
                s -> s.decodeNanos() / 1e9);
        counter(registry, "quiver.serving.adapter.loads", null, "Adapters copied from host memory into a LoRA slot",
                EngineStats::slotLoads);
        counter(registry, "quiver.serving.slot.evictions", null,
                "Resident adapters pushed out of their LoRA slot to make room for another", EngineStats::slotEvictions);
        counter(registry, "quiver.serving.adapter.reads", null, "Adapter directories read from disk",
                EngineStats::adapterReads);
    }

    private double read(ToDoubleFunction<EngineStats> value) {
        return value.applyAsDouble(serving.get().engine().stats());
    }

    // the meters hold this binder weakly; it is a singleton of the context, so they live as long as it does
    private void gauge(MeterRegistry registry, String name, String description, ToDoubleFunction<EngineStats> value) {
        Gauge.builder(name, this, m -> m.read(value)).description(description).register(registry);
    }

    // Prometheus appends a base unit to the name: give one only where it reads right (seconds)
    private void counter(MeterRegistry registry, String name, String unit, String description,
                         ToDoubleFunction<EngineStats> value) {
        FunctionCounter.builder(name, this, m -> m.read(value)).baseUnit(unit).description(description)
                .register(registry);
    }
}
