package dev.quiver.serving.runtime;

import static dev.quiver.serving.constraint.IndependentValidator.json;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.quiver.adapters.model.ModelConfig;
import dev.quiver.adapters.model.ModelFamily;
import dev.quiver.serving.constraint.IndependentValidator;
import dev.quiver.serving.constraint.TokenConstraint;
import dev.quiver.serving.testing.TestModels;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The tiny model has random weights, so every valid output below is the constraint's doing. */
class ConstrainedDecodingTest {
    private static final int[] PROMPT = {12, 345, 67, 890, 3};
    static final List<String> SCHEMAS = List.of("""
            {"type": "object", "properties": {
              "team": {"enum": ["billing", "tech", "sales"]},
              "summary": {"type": "string", "maxLength": 20},
              "priority": {"type": "integer"},
              "tags": {"type": "array", "items": {"type": "string", "maxLength": 8}, "maxItems": 3}},
             "required": ["team", "summary", "priority", "tags"], "additionalProperties": false}""",
            "{\"type\": \"array\", \"items\": {\"type\": \"integer\"}, \"minItems\": 1, \"maxItems\": 3}",
            "{\"type\": \"object\", \"properties\": {\"day\": {\"type\": \"string\", \"format\": \"date\"},"
                    + " \"ok\": {\"type\": [\"boolean\", \"null\"]}, \"score\": {\"type\": \"number\"}},"
                    + " \"required\": [\"day\", \"ok\"]}",
            "{\"enum\": [\"positive\", \"negative\", \"neutral\"]}",
            "{\"anyOf\": [{\"type\": \"string\", \"pattern\": \"^[A-Z]{2}-[0-9]{3}$\"}, {\"type\": \"null\"}]}");

    @TempDir
    static Path tmp;
    static InferenceEngine engine;

    @BeforeAll
    static void start() throws Exception {
        Path modelDir = TestModels.tiny(tmp, ModelFamily.QWEN3);
        engine = InferenceEngine.open(modelDir, EngineSettings.builder().optMaxBatch(8).optMaxSequenceLength(512)
                .optLoraSlots(2).optMaxLoraRank(8).optThreads(2).build());
        ModelConfig config = ModelConfig.load(modelDir);
        engine.adapters().register("x", TestModels.randomAdapter(config, 4, 21));
        engine.adapters().register("y", TestModels.randomAdapter(config, 8, 22));
    }

    @AfterAll
    static void stop() throws Exception {
        engine.close();
    }

    @Test
    void everyRowOfAMixedBatchMatchesItsOwnSchema() throws Exception {
        IndependentValidator validator = new IndependentValidator();
        String[] adapters = {null, "x", "y"};
        List<JsonNode> schemas = new ArrayList<>();
        List<GenerationHandle> handles = new ArrayList<>();
        for (int i = 0; i < 2 * SCHEMAS.size() * 2; i++) {
            JsonNode schema = json(SCHEMAS.get(i % SCHEMAS.size()));
            boolean greedy = i % 2 == 0;
            SamplingParams params = SamplingParams.builder().optTemperature(greedy ? 0 : 1.0).optSeed((long) i)
                    .optMaxTokens(400).build();
            schemas.add(schema);
            handles.add(engine.submit(new GenerationRequest(PROMPT, adapters[i % 3], params,
                    engine.constraints().schema(schema, "schema")), GenerationListener.NONE));
        }
        for (int i = 0; i < handles.size(); i++) {
            Completion c = handles.get(i).result().get();
            assertThat(c.finishReason()).as(c.text()).isEqualTo(FinishReason.STOP);
            assertThat(validator.problems(schemas.get(i), c.text())).as("%s for %s", c.text(), schemas.get(i))
                    .isEmpty();
        }
        assertThat(engine.stats().peakBatch()).isGreaterThan(1);
    }

    @Test
    void anUnconstrainedRowDecodesAsIfAloneBesideConstrainedRows() throws Exception {
        SamplingParams greedy = SamplingParams.builder().optTemperature(0).optMaxTokens(24).optIgnoreEos(true)
                .build();
        int[] alone = engine.generate(PROMPT, "x", greedy).tokenIds();
        TokenConstraint schema = engine.constraints().schema(json(SCHEMAS.get(0)), "schema");
        List<GenerationHandle> handles = new ArrayList<>();
        handles.add(engine.submit(new GenerationRequest(PROMPT, "x", greedy), GenerationListener.NONE));
        for (int i = 0; i < 3; i++) {
            handles.add(engine.submit(new GenerationRequest(PROMPT, "y", SamplingParams.greedy(200), schema),
                    GenerationListener.NONE));
        }
        assertThat(handles.get(0).result().get().tokenIds()).isEqualTo(alone);
        for (GenerationHandle h : handles) {
            h.result().get();
        }
    }

    @Test
    void logprobsReportTheConstrainedDistribution() throws Exception {
        TokenConstraint choice = engine.constraints().choice(List.of("yes", "no"), "guided_choice");
        SamplingParams params = SamplingParams.builder().optTemperature(1.0).optSeed(5L).optMaxTokens(8)
                .optTopLogprobs(5).build();
        Completion c = engine.submit(new GenerationRequest(PROMPT, null, params, choice), GenerationListener.NONE)
                .result().get();
        assertThat(c.text()).isIn("yes", "no");
        GeneratedToken first = c.tokens().get(0);
        double mass = first.topLogprobs().stream().mapToDouble(t -> Math.exp(t.logprob())).sum();
        assertThat(mass).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-4));
        assertThat(first.topLogprobs().stream().filter(t -> Double.isFinite(t.logprob())).count())
                .isLessThanOrEqualTo(4);
    }

    @Test
    void aValueCutByMaxTokensEndsWithLength() throws Exception {
        TokenConstraint schema = engine.constraints().schema(json(SCHEMAS.get(0)), "schema");
        Completion c = engine.submit(new GenerationRequest(PROMPT, null, SamplingParams.greedy(3), schema),
                GenerationListener.NONE).result().get();
        assertThat(c.finishReason()).isEqualTo(FinishReason.LENGTH);
        assertThat(c.text()).startsWith("{");
    }
}
