package dev.quiver.serving.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.quiver.adapters.model.ModelConfig;
import dev.quiver.adapters.model.ModelFamily;
import dev.quiver.adapters.peft.PeftAdapter;
import dev.quiver.adapters.safetensors.DType;
import dev.quiver.serving.lora.NoFreeSlotException;
import dev.quiver.serving.testing.TestModels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AdapterSchedulingTest {
    private static final int[] RUNNING_PROMPT = {5, 6, 7, 8, 9};
    private static final int[] PROMPT = {12, 345, 67, 890, 3};

    @TempDir
    static Path tmp;
    static Path modelDir;
    static ModelConfig config;
    static PeftAdapter x;
    static PeftAdapter y;

    @BeforeAll
    static void model() throws Exception {
        modelDir = TestModels.tiny(tmp, ModelFamily.QWEN3);
        config = ModelConfig.load(modelDir);
        x = TestModels.randomAdapter(config, 4, 31);
        y = TestModels.randomAdapter(config, 8, 32);
    }

    private static EngineSettings.Builder settings(int loraSlots, int hostCacheSize) {
        return EngineSettings.builder().optMaxBatch(4).optMaxSequenceLength(512).optLoraSlots(loraSlots)
                .optMaxLoraRank(8).optThreads(2).optHostCacheSize(hostCacheSize);
    }

    private static SamplingParams greedy(int maxTokens) {
        return SamplingParams.builder().optTemperature(0).optMaxTokens(maxTokens).optIgnoreEos(true).build();
    }

    /** A long greedy generation that calls {@code onToken} with its token count, on the engine thread. */
    private static GenerationHandle runLong(InferenceEngine engine, String adapter, IntConsumer onToken) {
        AtomicInteger count = new AtomicInteger();
        return engine.submit(new GenerationRequest(RUNNING_PROMPT, adapter, greedy(450)), new GenerationListener() {
            @Override
            public void onToken(GeneratedToken token) {
                onToken.accept(count.incrementAndGet());
            }
        });
    }

    /** Tracks whether a request has streamed a token yet. */
    private static final class Watch implements GenerationListener {
        final AtomicInteger tokens = new AtomicInteger();
        final Runnable onComplete;

        Watch(Runnable onComplete) {
            this.onComplete = onComplete;
        }

        @Override
        public void onToken(GeneratedToken token) {
            tokens.incrementAndGet();
        }

        @Override
        public void onComplete(Completion completion) {
            onComplete.run();
        }
    }

    @Test
    void aRequestWhoseAdapterHasNoFreeSlotWaitsWhileOthersGoAhead() throws Exception {
        try (InferenceEngine engine = InferenceEngine.open(modelDir, settings(1, 4).build())) {
            engine.adapters().register("x", x);
            engine.adapters().register("y", y);
            int[] xAlone = engine.generate(PROMPT, "x", greedy(6)).tokenIds();

            // y holds the only slot for as long as the long sequence runs
            AtomicInteger runningTokens = new AtomicInteger();
            Watch waiting = new Watch(() -> { });
            Map<String, Integer> seenWhenOthersFinished = new java.util.concurrent.ConcurrentHashMap<>();
            Runnable snapshot = () -> {
                seenWhenOthersFinished.merge("finished", 1, Integer::sum);
                seenWhenOthersFinished.put("waitingTokens", waiting.tokens.get());
                seenWhenOthersFinished.put("runningTokens", runningTokens.get());
            };
            CompletableFuture<List<GenerationHandle>> queued = new CompletableFuture<>();
            GenerationHandle running = runLong(engine, "y", n -> {
                runningTokens.set(n);
                if (n == 3) {
                    // queued in this order: the x request first, so it would block the others if it held the queue
                    queued.complete(List.of(
                            engine.submit(new GenerationRequest(PROMPT, "x", greedy(6)), waiting),
                            engine.submit(new GenerationRequest(PROMPT, null, greedy(3)), new Watch(snapshot)),
                            engine.submit(new GenerationRequest(PROMPT, "y", greedy(3)), new Watch(snapshot))));
                }
            });
            List<GenerationHandle> handles = queued.get(30, TimeUnit.SECONDS);
            handles.get(1).result().get(30, TimeUnit.SECONDS);
            handles.get(2).result().get(30, TimeUnit.SECONDS);

            assertThat(seenWhenOthersFinished.get("finished")).isEqualTo(2);
            assertThat(seenWhenOthersFinished.get("waitingTokens")).as("the x request had not started").isZero();
            assertThat(seenWhenOthersFinished.get("runningTokens")).as("and y's long sequence was still running")
                    .isLessThan(450);
            assertThat(handles.get(0).result()).isNotDone();
            assertThat(engine.slots().resident()).isEqualTo(Map.of(1, "y"));

            running.cancel();
            assertThat(handles.get(0).result().get(30, TimeUnit.SECONDS).tokenIds()).isEqualTo(xAlone);
            assertThat(engine.slots().resident()).isEqualTo(Map.of(1, "x"));
        }
    }

    @Test
    void adaptersAreReadOffTheEngineThreadWhileOtherSequencesDecode() throws Exception {
        BlockingQueue<Runnable> reads = new LinkedBlockingQueue<>();
        try (InferenceEngine engine = InferenceEngine.open(modelDir, settings(2, 1).build(), reads::add)) {
            Path xDir = tmp.resolve("x-read");
            Path yDir = tmp.resolve("y-read");
            x.write(xDir, DType.F32);
            y.write(yDir, DType.F32);
            engine.registerAdapter("x", xDir);
            engine.registerAdapter("y", yDir); // a host cache of one: x is back on disk only
            assertThat(engine.adapters().cached()).containsExactly("y");

            CountDownLatch decodedWhileReading = new CountDownLatch(1);
            AtomicInteger readsQueuedThen = new AtomicInteger(-1);
            Watch first = new Watch(() -> { });
            Watch second = new Watch(() -> { });
            CompletableFuture<List<GenerationHandle>> queued = new CompletableFuture<>();
            GenerationHandle running = runLong(engine, null, n -> {
                if (n == 3) {
                    queued.complete(List.of(
                            engine.submit(new GenerationRequest(PROMPT, "x", greedy(6)), first),
                            engine.submit(new GenerationRequest(PROMPT, "x", greedy(6)), second)));
                } else if (n == 3 + 20) {
                    readsQueuedThen.set(reads.size() + first.tokens.get() + second.tokens.get());
                    decodedWhileReading.countDown();
                }
            });
            assertThat(decodedWhileReading.await(30, TimeUnit.SECONDS)).isTrue();
            assertThat(readsQueuedThen.get()).as("one shared read queued, no x tokens yet").isEqualTo(1);

            // the read runs here, on a thread that is not the engine's; then x gets a slot and its requests run
            reads.take().run();
            List<GenerationHandle> handles = queued.get(30, TimeUnit.SECONDS);
            int[] firstTokens = handles.get(0).result().get(30, TimeUnit.SECONDS).tokenIds();
            assertThat(handles.get(1).result().get(30, TimeUnit.SECONDS).tokenIds()).isEqualTo(firstTokens);
            assertThat(reads).isEmpty();
            running.cancel();
            running.result().get(30, TimeUnit.SECONDS);

            // the same weights registered in memory (no read at all) generate the same tokens
            engine.adapters().register("x-object", x);
            assertThat(engine.generate(PROMPT, "x-object", greedy(6)).tokenIds()).isEqualTo(firstTokens);
        }
    }

    @Test
    void anAdapterThatFailsToLoadFailsOnlyItsRequests() throws Exception {
        try (InferenceEngine engine = InferenceEngine.open(modelDir, settings(2, 1).build())) {
            Path dir = tmp.resolve("gone");
            x.write(dir, DType.F32);
            engine.registerAdapter("gone", dir);
            engine.adapters().forgetCached("gone");
            Files.delete(dir.resolve(PeftAdapter.WEIGHTS_FILE));

            assertThatThrownBy(() -> engine.generate(PROMPT, "gone", greedy(2)))
                    .hasMessageContaining(dir.toString());
            assertThat(engine.generate(PROMPT, null, greedy(2)).tokenIds()).hasSize(2);
        }
    }

    @Test
    void aPinnedAdapterKeepsItsSlot() throws Exception {
        try (InferenceEngine engine = InferenceEngine.open(modelDir, settings(1, 4).build())) {
            engine.adapters().register("x", x);
            engine.adapters().register("y", y);
            engine.pinAdapter("x");
            assertThat(engine.slots().isPinned("x")).isTrue();

            assertThatThrownBy(() -> engine.generate(PROMPT, "y", greedy(2)))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("every slot is pinned");
            assertThat(engine.generate(PROMPT, "x", greedy(2)).tokenIds()).hasSize(2);
            assertThatThrownBy(() -> engine.pinAdapter("y")).isInstanceOf(NoFreeSlotException.class);

            engine.unpinAdapter("x");
            assertThat(engine.generate(PROMPT, "y", greedy(2)).tokenIds()).hasSize(2);
            assertThat(engine.slots().resident()).isEqualTo(Map.of(1, "y"));
        }
    }
}
