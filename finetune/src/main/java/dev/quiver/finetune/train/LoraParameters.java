package dev.quiver.finetune.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.quiver.adapters.model.ModelConfig;
import dev.quiver.adapters.peft.LoraConfig;
import dev.quiver.adapters.peft.LoraWeights;
import dev.quiver.adapters.peft.PeftAdapter;
import dev.quiver.finetune.model.LoraTensors;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The trainable LoRA factors of a run, one A and one B per adapted module, as fp32 arrays that only the
 * optimizer writes. Forwards that need gradients get fresh leaf copies, so gradients never pile up on
 * these arrays and the optimizer can update them in place. They live in the caller's manager.
 */
public final class LoraParameters {
    private final LoraConfig config;
    private final List<Module> modules;

    /** One adapted module: A is {@code [rank, in]}, B is {@code [out, rank]}. */
    record Module(String path, int rank, int in, int out, float scale, NDArray a, NDArray b) {
    }

    /** A forward's trainable view: the LoRA tensors to run with and the leaves whose gradients to read. */
    record Trainable(LoraTensors tensors, List<NDArray> leaves) {
    }

    private LoraParameters(LoraConfig config, List<Module> modules) {
        this.config = config;
        this.modules = List.copyOf(modules);
    }

    /**
     * Fresh factors as PEFT initialises them: A from kaiming-uniform with a = sqrt(5), i.e. uniform in
     * {@code ±1/sqrt(in)}, and B zero, so the adapted model starts out equal to the base. Each module
     * draws from its own generator seeded by the run seed and its path, so the init does not depend on
     * the order modules are visited in.
     */
    static LoraParameters initialise(ModelConfig model, LoraConfig config, long seed, NDManager manager) {
        List<Module> modules = new ArrayList<>();
        for (int l = 0; l < model.numLayers(); l++) {
            for (String name : ModelConfig.LINEAR_MODULES) {
                String path = ModelConfig.modulePath(l, name);
                if (!config.targets(path, l)) {
                    continue;
                }
                ModelConfig.LinearShape shape = model.linear(name);
                int rank = config.rankFor(path);
                float[] a = new float[rank * shape.in()];
                SplittableRandom rnd = new SplittableRandom(seed * 0x9E3779B97F4A7C15L ^ path.hashCode());
                double bound = 1.0 / Math.sqrt(shape.in());
                for (int i = 0; i < a.length; i++) {
                    a[i] = (float) rnd.nextDouble(-bound, bound);
                }
                float[] b = new float[shape.out() * rank];
                modules.add(module(manager, config, new LoraWeights(path, rank, shape.in(), shape.out(), a, b)));
            }
        }
        if (modules.isEmpty()) {
            throw new IllegalArgumentException("target modules " + config.targetModules() + " select no layer");
        }
        return new LoraParameters(config, modules);
    }

    /** Factors restored from a checkpoint's adapter, bit for bit. */
    static LoraParameters restore(PeftAdapter adapter, NDManager manager) {
        List<Module> modules = new ArrayList<>();
        for (LoraWeights w : adapter.weights().values()) {
            modules.add(module(manager, adapter.config(), w));
        }
        return new LoraParameters(adapter.config(), modules);
    }

    private static Module module(NDManager manager, LoraConfig config, LoraWeights w) {
        NDArray a = manager.create(w.a(), new Shape(w.rank(), w.in()));
        NDArray b = manager.create(w.b(), new Shape(w.out(), w.rank()));
        return new Module(w.module(), w.rank(), w.in(), w.out(), (float) config.scaleFor(w.module()), a, b);
    }

    /** A and B of every module, in model order: the list the optimizer and gradients line up with. */
    List<NDArray> tensors() {
        List<NDArray> out = new ArrayList<>();
        for (Module m : modules) {
            out.add(m.a());
            out.add(m.b());
        }
        return out;
    }

    /** PEFT's safetensors key of each entry of {@link #tensors()}. */
    List<String> keys() {
        List<String> out = new ArrayList<>();
        for (Module m : modules) {
            out.add(PeftAdapter.key(m.path(), 'A'));
            out.add(PeftAdapter.key(m.path(), 'B'));
        }
        return out;
    }

    /** The factors as they are, for evaluation (no dropout, no gradients). */
    LoraTensors view() {
        Map<String, LoraTensors.Factors> map = new LinkedHashMap<>();
        for (Module m : modules) {
            map.put(m.path(), new LoraTensors.Factors(m.a(), m.b(), m.scale()));
        }
        return new LoraTensors(map, 0f);
    }

    /** Leaf copies that record gradients, created in the caller's scope. */
    Trainable trainableCopies(float dropout) {
        Map<String, LoraTensors.Factors> map = new LinkedHashMap<>();
        List<NDArray> leaves = new ArrayList<>();
        for (Module m : modules) {
            NDArray a = m.a().duplicate();
            NDArray b = m.b().duplicate();
            a.setRequiresGradient(true);
            b.setRequiresGradient(true);
            leaves.add(a);
            leaves.add(b);
            map.put(m.path(), new LoraTensors.Factors(a, b, m.scale()));
        }
        return new Trainable(new LoraTensors(map, dropout), leaves);
    }

    /** The current factors as a PEFT adapter. */
    PeftAdapter toAdapter() {
        Map<String, LoraWeights> weights = new LinkedHashMap<>();
        for (Module m : modules) {
            weights.put(m.path(), new LoraWeights(m.path(), m.rank(), m.in(), m.out(), m.a().toFloatArray(),
                    m.b().toFloatArray()));
        }
        return new PeftAdapter(config, weights);
    }
}
