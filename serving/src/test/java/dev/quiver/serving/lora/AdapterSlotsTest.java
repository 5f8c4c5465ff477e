package dev.quiver.serving.lora;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import dev.quiver.adapters.model.ModelConfig;
import dev.quiver.adapters.model.ModelFamily;
import dev.quiver.adapters.peft.AdapterFormatException;
import dev.quiver.adapters.peft.LoraWeights;
import dev.quiver.adapters.peft.PeftAdapter;
import dev.quiver.adapters.safetensors.DType;
import dev.quiver.serving.graph.DecoderSignature;
import dev.quiver.serving.graph.LoraLayout;
import dev.quiver.serving.graph.Precision;
import dev.quiver.serving.testing.TestModels;
import java.nio.ByteOrder;
import java.nio.ShortBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AdapterSlotsTest {
    private static final ModelConfig CONFIG = new ModelConfig(ModelFamily.QWEN3, 64, 2, 4, 2, 16, 192, 1024, 2048,
            1e-6, 1e6, null, true, false, null, List.of(1), DType.F32);

    @TempDir
    Path tmp;
    LoraPools pools;
    AdapterRegistry registry;
    AdapterSlots slots;

    @BeforeEach
    void setUp() throws Exception {
        // two adapter slots besides the base
        pools = new LoraPools(OrtEnvironment.getEnvironment(),
                new DecoderSignature(CONFIG, 16, LoraLayout.allLinear(3, 8)));
        registry = new AdapterRegistry(pools.format(), 2);
        for (String name : List.of("a", "b", "c")) {
            registry.register(name, TestModels.randomAdapter(CONFIG, 4, name.hashCode()));
        }
        slots = new AdapterSlots(pools, registry);
    }

    @AfterEach
    void tearDown() {
        pools.close();
    }

    @Test
    void theBaseNeedsNoSlot() throws Exception {
        assertThat(slots.acquire(null)).isZero();
        assertThat(slots.resident()).isEmpty();
    }

    @Test
    void evictsTheLeastRecentlyUsedUnusedSlot() throws Exception {
        int a = slots.acquire("a");
        int b = slots.acquire("b");
        slots.release(b);
        slots.release(a); // a used more recently than b
        int c = slots.acquire("c");
        assertThat(c).isEqualTo(b);
        assertThat(slots.resident()).isEqualTo(Map.of(a, "a", c, "c"));
    }

    @Test
    void neverEvictsASlotInUseOrPinned() throws Exception {
        slots.acquire("a");
        slots.pin("b");
        assertThatThrownBy(() -> slots.acquire("c")).isInstanceOf(NoFreeSlotException.class)
                .hasMessageContaining("'c'");
        slots.unpin("b");
        assertThat(slots.acquire("c")).isEqualTo(2);
    }

    @Test
    void tryAcquireNeverLoadsAndAcquireWithHostWeightsOnlyCopies() throws Exception {
        assertThat(slots.tryAcquire("a")).isEmpty();
        assertThat(slots.resident()).isEmpty();
        int s = slots.acquire("a", registry.load("a"));
        assertThat(slots.tryAcquire("a")).hasValue(s);
        assertThat(slots.tryAcquire(null)).hasValue(LoraLayout.BASE_SLOT);
        slots.release(s);
        assertThat(slots.evict("a")).as("still used once").isFalse();
        slots.release(s);
        assertThat(slots.evict("a")).isTrue();
    }

    @Test
    void aSecondUserSharesTheSlot() throws Exception {
        int first = slots.acquire("a");
        assertThat(slots.acquire("a")).isEqualTo(first);
        slots.release(first);
        assertThat(slots.evict("a")).as("still used once").isFalse();
        slots.release(first);
        assertThat(slots.evict("a")).isTrue();
    }

    @Test
    void unknownAdaptersAreNamedInTheError() {
        assertThatThrownBy(() -> slots.acquire("nope")).isInstanceOf(NoSuchElementException.class)
                .hasMessageContaining("'nope'").hasMessageContaining("[a, b, c]");
    }

    @Test
    void rejectsAdapterWithRankAboveThePoolNamingAdapterAndPath() throws Exception {
        PeftAdapter wide = TestModels.randomAdapter(CONFIG, 16, 3);
        Path dir = tmp.resolve("wide");
        wide.write(dir, DType.F32);
        assertThatThrownBy(() -> registry.register("wide", dir)).isInstanceOf(AdapterFormatException.class)
                .hasMessageContaining("'wide'").hasMessageContaining(dir.toString())
                .hasMessageContaining("rank 16");
        assertThat(pools.format().misfits("wide", wide)).first().asString().contains("adapter 'wide' has rank 16",
                "model.layers.0.self_attn.q_proj", "max rank 8");
    }

    @Test
    void refusesAnAdapterWithNaNWeightsBecauseABatchReadsEveryBoundSlot() {
        PeftAdapter broken = TestModels.randomAdapter(CONFIG, 4, 5);
        broken.weights().get("model.layers.1.mlp.down_proj").b()[3] = Float.NaN;
        assertThat(pools.format().misfits("broken", broken)).singleElement().asString()
                .contains("adapter 'broken'", "model.layers.1.mlp.down_proj lora_B", "NaN");
        assertThatThrownBy(() -> pools.format().prepare("broken", broken)).isInstanceOf(AdapterFormatException.class)
                .hasMessageContaining("NaN");
        assertThatThrownBy(() -> registry.register("broken", broken)).isInstanceOf(AdapterFormatException.class)
                .hasMessageContaining("adapter 'broken'");
        assertThat(registry.contains("broken")).as("nothing half-registered").isFalse();
    }

    @Test
    void rejectsAdapterOnModulesWithoutAPool() throws Exception {
        LoraPools attentionOnly = new LoraPools(OrtEnvironment.getEnvironment(), new DecoderSignature(CONFIG, 16,
                new LoraLayout(2, 8, List.of("q_proj", "v_proj"))));
        try {
            PeftAdapter mlp = TestModels.randomAdapter(CONFIG, 4, 8.0, 1, List.of("up_proj"));
            assertThatThrownBy(() -> attentionOnly.format().prepare("mlp", mlp))
                    .isInstanceOf(AdapterFormatException.class)
                    .hasMessageContaining("adapter 'mlp' adapts model.layers.0.mlp.up_proj");
            // weights prepared for other pools are refused before anything is written
            PreparedAdapter forOthers = pools.format().prepare("a", TestModels.randomAdapter(CONFIG, 4, 2));
            assertThatThrownBy(() -> attentionOnly.write(1, forOthers)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("prepared for other LoRA pools");
        } finally {
            attentionOnly.close();
        }
    }

    @Test
    void fp16PoolsHoldEachValueRoundedAndRefuseValuesBeyondTheirRange() throws Exception {
        try (LoraPools half = new LoraPools(OrtEnvironment.getEnvironment(), new DecoderSignature(CONFIG, 16,
                LoraLayout.allLinear(2, 8), Precision.FP16, Precision.FP32))) {
            PeftAdapter adapter = TestModels.randomAdapter(CONFIG, 4, 21);
            PreparedAdapter halves = half.format().prepare("a", adapter);
            half.write(1, halves);
            // the host copy is what the slot holds: two bytes a value, half of fp32's
            long values = 0;
            for (LoraWeights lw : adapter.weights().values()) {
                values += lw.a().length + lw.b().length;
            }
            assertThat(halves.bytes()).isEqualTo(2 * values);
            assertThat(pools.format().prepare("a", adapter).bytes()).isEqualTo(4 * values);
            String module = "model.layers.1.self_attn.o_proj";
            LoraWeights w = adapter.weights().get(module);
            float scale = (float) adapter.config().scaleFor(module);
            Map<String, OnnxTensor> views = half.inputs(1, 1);
            OnnxTensor a = views.get(DecoderSignature.loraA(1, "o_proj"));
            OnnxTensor b = views.get(DecoderSignature.loraB(1, "o_proj"));
            assertThat(a.getInfo().type).isEqualTo(OnnxJavaType.FLOAT16);
            assertThat(a.getInfo().getShape()).containsExactly(8, w.in());
            ShortBuffer av = a.getByteBuffer().order(ByteOrder.nativeOrder()).asShortBuffer();
            ShortBuffer bv = b.getByteBuffer().order(ByteOrder.nativeOrder()).asShortBuffer();
            for (int j = 0; j < 8; j++) {
                for (int k = 0; k < w.in(); k++) {
                    short expected = j < w.rank() ? DType.floatToF16(w.a()[j * w.in() + k]) : 0;
                    assertThat(av.get(j * w.in() + k)).as("A[%d][%d]", j, k).isEqualTo(expected);
                }
                for (int o = 0; o < w.out(); o++) {
                    short expected = j < w.rank() ? DType.floatToF16(scale * w.b()[o * w.rank() + j]) : 0;
                    assertThat(bv.get(j * w.out() + o)).as("B[%d][%d]", j, o).isEqualTo(expected);
                }
            }
            PeftAdapter huge = TestModels.randomAdapter(CONFIG, 4, 22);
            huge.weights().get("model.layers.0.mlp.up_proj").a()[5] = 1e6f;
            assertThat(half.format().misfits("huge", huge)).singleElement().asString()
                    .contains("adapter 'huge'", "model.layers.0.mlp.up_proj", "beyond fp16's range");
            assertThat(pools.format().misfits("huge", huge)).as("fp32 pools hold it").isEmpty();
            // the fixture's pools have two adapter slots, these one: fp16 is a quarter of their bytes
            assertThat(half.bytes() * 4).isEqualTo(pools.bytes());
        }
    }

    @Test
    void hostCacheKeepsTheMostRecentlyLoadedDirectories() throws Exception {
        AdapterRegistry small = new AdapterRegistry(pools.format(), 2);
        for (String name : List.of("p", "q", "r")) {
            Path dir = tmp.resolve(name);
            TestModels.randomAdapter(CONFIG, 4, name.hashCode()).write(dir, DType.F32);
            small.register(name, dir);
        }
        assertThat(small.cached()).containsExactly("q", "r");
        PreparedAdapter p = small.load("p");
        assertThat(small.cached()).containsExactly("r", "p");
        assertThat(p.modules()).hasSize(2 * ModelConfig.LINEAR_MODULES.size());
    }
}
