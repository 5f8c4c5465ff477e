package dev.quiver.serving.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.quiver.adapters.model.ModelConfig;
import dev.quiver.adapters.model.ModelFamily;
import dev.quiver.adapters.peft.PeftAdapter;
import dev.quiver.serving.testing.TestModels;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InferenceEngineTest {
    private static final int[] PROMPT = {12, 345, 67, 890, 3};

    @TempDir
    static Path tmp;
    static Path modelDir;
    static InferenceEngine engine;
    static ModelConfig config;
    static PeftAdapter adapterX;

    @BeforeAll
    static void start() throws Exception {
        modelDir = TestModels.tiny(tmp, ModelFamily.QWEN3);
        engine = InferenceEngine.open(modelDir, EngineSettings.builder().optMaxBatch(4).optMaxSequenceLength(64)
                .optLoraSlots(2).optMaxLoraRank(8).optThreads(2).build());
        config = dev.quiver.adapters.model.ModelConfig.load(modelDir);
        adapterX = TestModels.randomAdapter(config, 4, 21);
        engine.adapters().register("x", adapterX);
        engine.adapters().register("y", TestModels.randomAdapter(config, 8, 16.0, 22,
                List.of("q_proj", "k_proj", "v_proj", "o_proj")));
    }

    @AfterAll
    static void stop() throws Exception {
        engine.close();
    }

    private static SamplingParams greedy(int maxTokens) {
        return SamplingParams.builder().optTemperature(0).optMaxTokens(maxTokens).optIgnoreEos(true).build();
    }

    @Test
    void greedyDecodingFollowsTheArgmaxOfTheFullForwardPass() throws Exception {
        Completion c = engine.generate(PROMPT, "x", greedy(6));
        int[] sequence = PROMPT.clone();
        try (ForwardPass forward = ForwardPass.open(modelDir, 64, 8)) {
            for (int i = 0; i < 6; i++) {
                float[][] logits = forward.logits(sequence, adapterX);
                int next = Sampler.argmax(logits[logits.length - 1]);
                assertThat(c.tokenIds()[i]).as("token %d", i).isEqualTo(next);
                sequence = Arrays.copyOf(sequence, sequence.length + 1);
                sequence[sequence.length - 1] = next;
            }
        }
        assertThat(engine.generate(PROMPT, "x", greedy(6)).tokenIds()).isEqualTo(c.tokenIds());
    }

    @Test
    void theSameSeedGivesTheSameSample() throws Exception {
        SamplingParams seeded = SamplingParams.builder().optTemperature(1.0).optSeed(1234L).optMaxTokens(12)
                .optIgnoreEos(true).build();
        int[] first = engine.generate(PROMPT, null, seeded).tokenIds();
        assertThat(engine.generate(PROMPT, null, seeded).tokenIds()).isEqualTo(first);
        List<int[]> others = new ArrayList<>();
        for (long seed = 1; seed <= 3; seed++) {
            others.add(engine.generate(PROMPT, null, SamplingParams.builder().optTemperature(1.0).optSeed(seed)
                    .optMaxTokens(12).optIgnoreEos(true).build()).tokenIds());
        }
        assertThat(others).anySatisfy(o -> assertThat(o).isNotEqualTo(first));
    }

    @Test
    void maxTokensEndsTheSequenceWithLength() throws Exception {
        Completion c = engine.generate(PROMPT, null, greedy(5));
        assertThat(c.tokenIds()).hasSize(5);
        assertThat(c.finishReason()).isEqualTo(FinishReason.LENGTH);
        assertThat(c.promptTokens()).isEqualTo(PROMPT.length);
    }

    @Test
    void theKvCapacityEndsALongGeneration() throws Exception {
        Completion c = engine.generate(PROMPT, null, greedy(500));
        assertThat(c.finishReason()).isEqualTo(FinishReason.LENGTH);
        assertThat(PROMPT.length + c.tokenIds().length).isEqualTo(64);
    }

    @Test
    void aStopStringCutsTheTextBeforeIt() throws Exception {
        Completion full = engine.generate(PROMPT, null, greedy(24));
        String text = full.text();
        String stop = pickStop(text);
        SamplingParams withStop = SamplingParams.builder().optTemperature(0).optMaxTokens(24).optIgnoreEos(true)
                .optStop(List.of(stop)).build();
        List<String> streamed = new CopyOnWriteArrayList<>();
        GenerationHandle h = engine.submit(new GenerationRequest(PROMPT, null, withStop), new GenerationListener() {
            @Override
            public void onToken(GeneratedToken token) {
                streamed.add(token.text());
            }
        });
        Completion c = h.result().get();
        assertThat(c.finishReason()).isEqualTo(FinishReason.STOP);
        assertThat(c.text()).isEqualTo(text.substring(0, text.indexOf(stop)));
        assertThat(String.join("", streamed) + c.heldBack()).isEqualTo(c.text());
        assertThat(c.tokenIds().length).isLessThan(full.tokenIds().length);
    }

    // a two-character piece of the text, starting after its first character, without replacement characters
    private static String pickStop(String text) {
        for (int i = text.length() / 3; i + 2 <= text.length(); i++) {
            String s = text.substring(i, i + 2);
            if (!s.contains("\uFFFD") && !s.isBlank() && text.indexOf(s) > 0) {
                return s;
            }
        }
        throw new AssertionError("no usable stop string in generated text: " + text);
    }

    @Test
    void seededDrawsInOneBatchMatchEachRunAloneWhicheverThreadDrawsThem() throws Exception {
        // batched, the rows are split between the engine thread and a sampling helper (2 threads); alone, one row
        // is drawn on the engine thread
        int[][] prompts = {{5, 6, 7}, {900, 12, 13, 14}, {400, 401}, {33, 34, 35, 36, 37}};
        SamplingParams[] params = {
            SamplingParams.builder().optTemperature(0.7).optTopP(0.9).optSeed(11L).optMaxTokens(10)
                    .optIgnoreEos(true).build(),
            SamplingParams.builder().optTemperature(1.2).optSeed(12L).optMaxTokens(10).optIgnoreEos(true).build(),
            greedy(10),
            SamplingParams.builder().optTemperature(1.0).optTopK(20).optTopP(0.95).optSeed(13L).optMaxTokens(10)
                    .optLogprobs(true).optTopLogprobs(2).optIgnoreEos(true).build(),
        };
        Completion[] alone = new Completion[prompts.length];
        for (int i = 0; i < prompts.length; i++) {
            alone[i] = engine.generate(prompts[i], null, params[i]);
        }
        List<GenerationHandle> handles = new ArrayList<>();
        for (int i = 0; i < prompts.length; i++) {
            handles.add(engine.submit(new GenerationRequest(prompts[i], null, params[i]), GenerationListener.NONE));
        }
        for (int i = 0; i < prompts.length; i++) {
            Completion together = handles.get(i).result().get();
            assertThat(together.tokenIds()).as("sequence %d", i).isEqualTo(alone[i].tokenIds());
        }
        assertThat(engine.stats().peakBatch()).isGreaterThanOrEqualTo(2);
    }

    @Test
    void concurrentSequencesWithDifferentAdaptersMatchEachRunAlone() throws Exception {
        int[][] prompts = {{5, 6, 7}, {900, 12, 13, 14, 15, 16}, {400, 401}};
        String[] adapters = {"x", "y", null};
        int[][] alone = new int[3][];
        for (int i = 0; i < 3; i++) {
            alone[i] = engine.generate(prompts[i], adapters[i], greedy(8)).tokenIds();
        }
        long stepsBefore = engine.stats().decodeSteps();
        List<GenerationHandle> handles = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            handles.add(engine.submit(new GenerationRequest(prompts[i], adapters[i], greedy(8)),
                    GenerationListener.NONE));
        }
        for (int i = 0; i < 3; i++) {
            assertThat(handles.get(i).result().get().tokenIds()).as("sequence %d", i).isEqualTo(alone[i]);
        }
        assertThat(engine.stats().peakBatch()).isGreaterThanOrEqualTo(2);
        assertThat(engine.stats().decodeSteps() - stepsBefore).as("shared decode steps").isLessThan(3 * 7);
        assertThat(alone[0]).isNotEqualTo(engine.generate(prompts[0], null, greedy(8)).tokenIds());
    }

    @Test
    void aSequenceFinishingEarlyHandsItsKvRowToAnotherWithoutChangingItsOutput() throws Exception {
        int[][] prompts = {{5, 6, 7}, {900, 12, 13, 14}, {400, 401}, {77, 78, 79, 80, 81}};
        String[] adapters = {"x", null, "y", "x"};
        int[] maxTokens = {2, 12, 9, 5};
        int[][] alone = new int[prompts.length][];
        for (int i = 0; i < prompts.length; i++) {
            alone[i] = engine.generate(prompts[i], adapters[i], greedy(maxTokens[i])).tokenIds();
        }
        long movesBefore = engine.stats().rowMoves();
        // sequence 0's first token holds the engine's thread until the others are queued, so that they run beside
        // it (on a busy machine the engine could otherwise finish sequence 0 before the next one is submitted)
        CountDownLatch allSubmitted = new CountDownLatch(1);
        GenerationListener holdsUntilAllSubmitted = new GenerationListener() {
            @Override
            public void onToken(GeneratedToken token) {
                try {
                    allSubmitted.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        };
        List<GenerationHandle> handles = new ArrayList<>();
        for (int i = 0; i < prompts.length; i++) {
            handles.add(engine.submit(new GenerationRequest(prompts[i], adapters[i], greedy(maxTokens[i])),
                    i == 0 ? holdsUntilAllSubmitted : GenerationListener.NONE));
        }
        allSubmitted.countDown();
        // sequence 0 ends first and the last row moves into its place, then 3, then 2
        for (int i = 0; i < prompts.length; i++) {
            assertThat(handles.get(i).result().get().tokenIds()).as("sequence %d", i).isEqualTo(alone[i]);
        }
        assertThat(engine.stats().rowMoves()).isGreaterThan(movesBefore);
    }

    @Test
    void streamsEveryTokenThenCompletes() throws Exception {
        List<Integer> ids = new CopyOnWriteArrayList<>();
        List<Completion> done = new CopyOnWriteArrayList<>();
        SamplingParams p = SamplingParams.builder().optTemperature(0).optMaxTokens(4).optIgnoreEos(true)
                .optLogprobs(true).optTopLogprobs(2).build();
        Completion c = engine.submit(new GenerationRequest(PROMPT, "y", p), new GenerationListener() {
            @Override
            public void onToken(GeneratedToken token) {
                ids.add(token.tokenId());
                assertThat(token.logprob()).isNegative();
                assertThat(token.topLogprobs()).hasSize(2);
                assertThat(token.topLogprobs().get(0).tokenId()).isEqualTo(token.tokenId());
            }

            @Override
            public void onComplete(Completion completion) {
                done.add(completion);
            }
        }).result().get();
        assertThat(ids).containsExactly(Arrays.stream(c.tokenIds()).boxed().toArray(Integer[]::new));
        assertThat(done).containsExactly(c);
    }

    @Test
    void anUnknownAdapterFailsOnlyThatRequest() throws Exception {
        assertThatThrownBy(() -> engine.generate(PROMPT, "nope", greedy(2)))
                .isInstanceOf(NoSuchElementException.class).hasMessageContaining("'nope'");
        assertThat(engine.generate(PROMPT, null, greedy(2)).tokenIds()).hasSize(2);
    }

    @Test
    void aPromptAsLongAsTheCacheIsRefused() {
        assertThatThrownBy(() -> engine.generate(new int[64], null, greedy(2)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("64 tokens");
    }

    @Test
    void stopsAtTheModelsEndOfSequenceToken() throws Exception {
        // make the end-of-turn token the only possible continuation with a stop id list of every token
        Completion c = engine.generate(PROMPT, null, SamplingParams.builder().optTemperature(0).optMaxTokens(5)
                .optStopTokenIds(java.util.stream.IntStream.range(0, config.vocabSize()).boxed().toList()).build());
        assertThat(c.tokenIds()).isEmpty();
        assertThat(c.finishReason()).isEqualTo(FinishReason.STOP);
    }
}
