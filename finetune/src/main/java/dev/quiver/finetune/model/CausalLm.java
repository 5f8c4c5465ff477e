package dev.quiver.finetune.model;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.quiver.adapters.model.ModelConfig;
import dev.quiver.adapters.model.ModelDirectory;
import dev.quiver.adapters.peft.PeftAdapter;
import java.io.IOException;
import java.util.Arrays;

/**
 * A llama/qwen2/qwen3 causal language model on DJL's PyTorch engine with frozen fp32 base weights: the
 * training engine's forward, and the reference that the serving engine's logits are compared with.
 */
public final class CausalLm implements AutoCloseable {
    /** The DJL engine the trainer runs on. */
    public static final String ENGINE = "PyTorch";

    private final ModelConfig config;
    private final NDManager manager;
    private final BaseWeights weights;
    private final Decoder decoder;

    private CausalLm(ModelConfig config, NDManager manager, BaseWeights weights) {
        this.config = config;
        this.manager = manager;
        this.weights = weights;
        this.decoder = new Decoder(config, weights, manager);
    }

    /** Loads the model of an opened directory onto the CPU. */
    public static CausalLm load(ModelDirectory dir) throws IOException {
        return load(dir, Device.cpu());
    }

    /** Loads the model of an opened directory onto {@code device}; the directory may be closed afterwards. */
    public static CausalLm load(ModelDirectory dir, Device device) throws IOException {
        NDManager manager = NDManager.newBaseManager(device, ENGINE);
        try {
            return new CausalLm(dir.config(), manager, BaseWeights.load(dir, manager));
        } catch (IOException | RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    public ModelConfig config() {
        return config;
    }

    public Device device() {
        return manager.getDevice();
    }

    /**
     * Logits at every position of one sequence, fp32, {@code [tokens][vocab]}: transformers' forward
     * of the base model, plus the adapter's LoRA deltas when it is not null (dropout off).
     *
     * @throws dev.quiver.adapters.peft.AdapterFormatException if the adapter does not fit this model
     */
    public float[][] logits(int[] tokenIds, PeftAdapter adapterOrNull) throws IOException {
        checkTokens(tokenIds);
        if (adapterOrNull != null) {
            adapterOrNull.validateAgainst(config, PeftAdapter.MAX_RANK);
        }
        try (NDScope scope = new NDScope()) {
            LoraTensors lora = adapterOrNull == null ? LoraTensors.none() : LoraTensors.of(adapterOrNull, manager);
            float[] flat = logits(Tokens.single(tokenIds), lora).toFloatArray();
            int vocab = config.vocabSize();
            float[][] out = new float[tokenIds.length][];
            for (int t = 0; t < tokenIds.length; t++) {
                out[t] = Arrays.copyOfRange(flat, t * vocab, (t + 1) * vocab);
            }
            return out;
        }
    }

    /** Logits of every position, {@code [rows, length, vocab]}, in the caller's scope. */
    public NDArray logits(Tokens tokens, LoraTensors lora) {
        try (NDArray hidden = decoder.hidden(tokens, lora, false)) {
            return decoder.logits(hidden);
        }
    }

    /**
     * The summed loss of the target tokens: {@code targets[i]} is the token expected after position
     * {@code i}, or negative where there is none. Only target positions reach the LM head, which on a
     * 150k-token vocabulary is most of the compute saved on prompt tokens.
     */
    public TargetLoss targetLoss(Tokens tokens, int[] targets, LoraTensors lora, boolean training) {
        if (targets.length != tokens.ids().length) {
            throw new IllegalArgumentException(targets.length + " targets for " + tokens.ids().length + " tokens");
        }
        long[] where = new long[targets.length];
        long[] expected = new long[targets.length];
        int n = 0;
        for (int i = 0; i < targets.length; i++) {
            if (targets[i] >= 0) {
                where[n] = i;
                expected[n] = targets[i];
                n++;
            }
        }
        if (n == 0) {
            throw new IllegalArgumentException("batch has no target tokens");
        }
        // intermediates are closed as soon as they are used: autograd keeps what backward needs by itself.
        // Not the index: it wraps a Java buffer that backward reads, so it lives as long as the step's scope
        // (closing it early gave out-of-bounds garbage indices in backward, as with DJL's scalar operands).
        NDArray index = manager.create(Arrays.copyOf(where, n));
        NDArray logits;
        try (NDArray hidden = decoder.hidden(tokens, lora, training);
             NDArray flat = hidden.reshape(-1, config.hiddenSize());
             NDArray selected = flat.get(new NDIndex("{}", index))) {
            logits = decoder.logits(selected);
        }
        NDArray labels = manager.create(Arrays.copyOf(expected, n), new Shape(n, 1));
        long correct;
        try (NDArray predicted = logits.argMax(1); NDArray column = labels.squeeze(1);
             NDArray hits = predicted.eq(column); NDArray counted = hits.toType(DataType.INT64, false);
             NDArray total = counted.sum()) {
            correct = total.getLong();
        }
        try (logits; NDArray logProbs = logits.logSoftmax(1); NDArray picked = logProbs.gather(labels, 1);
             NDArray nll = picked.neg()) {
            return new TargetLoss(nll.sum(), correct, n);
        }
    }

    /** A manager on this model's device for arrays that outlive one forward (trainable factors, optimizer state). */
    public NDManager newSubManager() {
        return manager.newSubManager();
    }

    /** A base weight's current values, for checking that training left the base model untouched. */
    public float[] baseWeight(String name) {
        return weights.values(name);
    }

    /** The engine these arrays live on, for gradient collection and seeding. */
    public Engine engine() {
        return manager.getEngine();
    }

    private void checkTokens(int[] tokenIds) {
        if (tokenIds.length == 0) {
            throw new IllegalArgumentException("no tokens to run");
        }
        if (tokenIds.length > config.maxPositionEmbeddings()) {
            throw new IllegalArgumentException(tokenIds.length + " tokens exceed max_position_embeddings "
                    + config.maxPositionEmbeddings());
        }
        for (int i = 0; i < tokenIds.length; i++) {
            if (tokenIds[i] < 0 || tokenIds[i] >= config.vocabSize()) {
                throw new IllegalArgumentException("token id " + tokenIds[i] + " at position " + i
                        + " is outside the vocabulary [0, " + config.vocabSize() + ")");
            }
        }
    }

    @Override
    public void close() {
        manager.close();
    }
}
