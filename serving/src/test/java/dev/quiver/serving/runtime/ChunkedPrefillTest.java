package dev.quiver.serving.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import dev.quiver.adapters.model.ModelConfig;
import dev.quiver.adapters.model.ModelDirectory;
import dev.quiver.adapters.model.ModelFamily;
import dev.quiver.adapters.peft.PeftAdapter;
import dev.quiver.serving.graph.CompileOptions;
import dev.quiver.serving.graph.DecoderGraphCompiler;
import dev.quiver.serving.graph.LoraLayout;
import dev.quiver.serving.testing.TestModels;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChunkedPrefillTest {
    private static final double TOLERANCE = 1e-4;

    @TempDir
    static Path tmp;
    static Path modelDir;
    static ModelConfig config;

    @BeforeAll
    static void model() throws Exception {
        modelDir = TestModels.tiny(tmp, ModelFamily.QWEN3);
        config = ModelConfig.load(modelDir);
    }

    private static int[] prompt(int length, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        return rnd.ints(length, 3, config.vocabSize()).toArray();
    }

    private static SamplingParams greedy(int maxTokens) {
        return SamplingParams.builder().optTemperature(0).optMaxTokens(maxTokens).optIgnoreEos(true).build();
    }

    @Test
    void chunkedPrefillGivesTheLogitsAndCacheOfAOneShotPrefill() throws Exception {
        int[] tokens = prompt(300, 1);
        try (ModelDirectory model = ModelDirectory.open(modelDir);
             DecoderSession session = DecoderSession.open(new DecoderGraphCompiler(CompileOptions.builder()
                     .optMaxSequenceLength(512).optLora(LoraLayout.allLinear(2, 8)).build()).compile(model), 3, 2)) {
            PeftAdapter adapter = TestModels.randomAdapter(config, 8, 5);
            TestModels.write(session.loraPools(), 1, "a", adapter);
            int slot = 1;
            float[][] whole = session.run(StepBatch.prefill(0, tokens, 0, slot, true))[0];

            // row 1: chunks of 64 with logits at every position; row 2: chunks without logits but the last
            float[][] chunked = new float[tokens.length][];
            float[] lastOfSilentChunks = null;
            for (int from = 0; from < tokens.length; from += 64) {
                int[] chunk = Arrays.copyOfRange(tokens, from, Math.min(tokens.length, from + 64));
                float[][] logits = session.run(StepBatch.prefill(1, chunk, from, slot, true))[0];
                System.arraycopy(logits, 0, chunked, from, chunk.length);
                boolean last = from + chunk.length == tokens.length;
                float[][][] silent = session.run(last ? StepBatch.prefill(2, chunk, from, slot, false)
                        : StepBatch.prefillWithoutLogits(2, chunk, from, slot));
                if (last) {
                    lastOfSilentChunks = silent[0][0];
                } else {
                    assertThat(silent[0]).isEmpty();
                }
            }
            assertThat(TestModels.maxAbsDiff(chunked, whole)).isLessThan(TOLERANCE);
            assertThat(TestModels.maxAbsDiff(lastOfSilentChunks, whole[tokens.length - 1])).isLessThan(TOLERANCE);

            // the caches agree too: the next decode step of the three rows, in one batch, gives the same logits
            float[][][] next = session.run(StepBatch.decode(new int[] {42, 42, 42},
                    new int[] {tokens.length, tokens.length, tokens.length}, new int[] {slot, slot, slot}));
            assertThat(TestModels.maxAbsDiff(next[1][0], next[0][0])).isLessThan(TOLERANCE);
            assertThat(TestModels.maxAbsDiff(next[2][0], next[0][0])).isLessThan(TOLERANCE);
        }
    }

    @Test
    void aLongPromptIsPrefilledInChunksWhileTheRunningSequenceKeepsDecoding() throws Exception {
        int chunk = 16;
        int[] longPrompt = prompt(200, 2);
        try (InferenceEngine engine = InferenceEngine.open(modelDir, EngineSettings.builder().optMaxBatch(2)
                .optMaxSequenceLength(512).optLoraSlots(1).optMaxLoraRank(8).optThreads(2)
                .optPrefillChunkTokens(chunk).build())) {
            AtomicInteger runningTokens = new AtomicInteger();
            AtomicInteger atSubmission = new AtomicInteger(-1);
            AtomicInteger atFirstToken = new AtomicInteger(-1);
            CompletableFuture<GenerationHandle> longRequest = new CompletableFuture<>();
            long chunksBefore = engine.stats().prefillChunks();
            GenerationHandle running = engine.submit(new GenerationRequest(new int[] {5, 6, 7, 8, 9}, null,
                    greedy(400)), new GenerationListener() {
                @Override
                public void onToken(GeneratedToken token) {
                    // listeners run on the engine thread, so these counts are one consistent timeline
                    if (runningTokens.incrementAndGet() == 3) {
                        atSubmission.set(runningTokens.get());
                        longRequest.complete(engine.submit(new GenerationRequest(longPrompt, null, greedy(4)),
                                new GenerationListener() {
                                    @Override
                                    public void onToken(GeneratedToken t) {
                                        atFirstToken.compareAndSet(-1, runningTokens.get());
                                    }
                                }));
                    }
                }
            });
            Completion prefilled = longRequest.get(30, TimeUnit.SECONDS).result().get(30, TimeUnit.SECONDS);
            running.cancel();
            assertThat(running.result().get(30, TimeUnit.SECONDS).finishReason()).isEqualTo(FinishReason.CANCELLED);

            int chunks = (longPrompt.length + chunk - 1) / chunk;
            assertThat(atFirstToken.get() - atSubmission.get())
                    .as("tokens of the running sequence while the long prompt was prefilled")
                    .isGreaterThanOrEqualTo(chunks - 1);
            assertThat(engine.stats().prefillChunks() - chunksBefore).isGreaterThanOrEqualTo(chunks + 1);

            // and the chunked, batched generation is the argmax of the unchunked full forward pass
            int[] sequence = longPrompt.clone();
            try (ForwardPass forward = ForwardPass.open(modelDir, 512, 8)) {
                for (int i = 0; i < 4; i++) {
                    float[][] logits = forward.logits(sequence, null);
                    int next = Sampler.argmax(logits[logits.length - 1]);
                    assertThat(prefilled.tokenIds()[i]).as("token %d", i).isEqualTo(next);
                    sequence = Arrays.copyOf(sequence, sequence.length + 1);
                    sequence[sequence.length - 1] = next;
                }
            }
        }
    }

    @Test
    void whileSequencesDecodeTheTimeBudgetSizesTheChunksAndAloneAPromptRunsAtTheCap() throws Exception {
        int cap = 64;
        int[] longPrompt = prompt(200, 3);
        // a 1 ns budget: any measured rate fits less than the floor in it, so the floor it is
        try (InferenceEngine engine = InferenceEngine.open(modelDir, EngineSettings.builder().optMaxBatch(2)
                .optMaxSequenceLength(512).optLoraSlots(1).optMaxLoraRank(8).optThreads(1)
                .optPrefillChunkTokens(cap).optPrefillBudget(Duration.ofNanos(1)).build())) {
            EngineStats before = engine.stats();
            engine.generate(longPrompt, null, greedy(1));
            EngineStats alone = engine.stats();
            assertThat(alone.prefillChunks() - before.prefillChunks()).isEqualTo((200 + cap - 1) / cap);
            assertThat(alone.prefillTokens() - before.prefillTokens()).isEqualTo(200);

            EngineStats[] during = prefillWhileDecoding(engine, longPrompt);
            int floor = PrefillBudget.MIN_CHUNK_TOKENS;
            assertThat(during[1].prefillChunks() - during[0].prefillChunks()).isEqualTo((200 + floor - 1) / floor);
            assertThat(during[1].prefillTokens() - during[0].prefillTokens()).isEqualTo(200);
        }
        // an hour's budget: the cap binds even while sequences decode
        try (InferenceEngine engine = InferenceEngine.open(modelDir, EngineSettings.builder().optMaxBatch(2)
                .optMaxSequenceLength(512).optLoraSlots(1).optMaxLoraRank(8).optThreads(1)
                .optPrefillChunkTokens(cap).optPrefillBudget(Duration.ofHours(1)).build())) {
            EngineStats[] during = prefillWhileDecoding(engine, longPrompt);
            assertThat(during[1].prefillChunks() - during[0].prefillChunks()).isEqualTo((200 + cap - 1) / cap);
        }
    }

    /** Engine stats when {@code longPrompt} is submitted behind a decoding sequence, and when it finished. */
    private static EngineStats[] prefillWhileDecoding(InferenceEngine engine, int[] longPrompt) throws Exception {
        AtomicInteger runningTokens = new AtomicInteger();
        AtomicReference<EngineStats> atSubmission = new AtomicReference<>();
        CompletableFuture<GenerationHandle> longRequest = new CompletableFuture<>();
        GenerationHandle running = engine.submit(new GenerationRequest(new int[] {5, 6, 7, 8, 9}, null,
                greedy(400)), new GenerationListener() {
            @Override
            public void onToken(GeneratedToken token) {
                // on the engine thread, between two steps: the running sequence is decoding from here on
                if (runningTokens.incrementAndGet() == 3) {
                    atSubmission.set(engine.stats());
                    longRequest.complete(engine.submit(new GenerationRequest(longPrompt, null, greedy(1)),
                            GenerationListener.NONE));
                }
            }
        });
        longRequest.get(30, TimeUnit.SECONDS).result().get(30, TimeUnit.SECONDS);
        EngineStats done = engine.stats();
        assertThat(running.result().isDone()).as("the running sequence decoded throughout").isFalse();
        running.cancel();
        running.result().get(30, TimeUnit.SECONDS);
        return new EngineStats[] {atSubmission.get(), done};
    }
}
