package dev.quiver.serving.graph;

import dev.quiver.adapters.model.ModelConfig;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;

/**
 * The cos/sin caches GroupQueryAttention rotates with: {@code [maxSequenceLength, headDim / 2]}, one
 * column per inverse frequency (llama3 or linear scaling already applied by {@link ModelConfig}).
 */
record RopeTables(ByteBuffer cos, ByteBuffer sin, int rows, int columns) {

    static RopeTables of(ModelConfig config, int maxSequenceLength) {
        double[] inv = config.ropeInverseFrequencies();
        int half = inv.length;
        ByteBuffer cosBytes = WeightLoader.allocate("rope cos cache", (long) maxSequenceLength * half);
        ByteBuffer sinBytes = WeightLoader.allocate("rope sin cache", (long) maxSequenceLength * half);
        FloatBuffer cos = cosBytes.asFloatBuffer();
        FloatBuffer sin = sinBytes.asFloatBuffer();
        for (int pos = 0; pos < maxSequenceLength; pos++) {
            for (int i = 0; i < half; i++) {
                // transformers forms the angle in fp32 (inv_freq.float() @ position_ids.float()); so do we
                float angle = (float) pos * (float) inv[i];
                cos.put(pos * half + i, (float) Math.cos(angle));
                sin.put(pos * half + i, (float) Math.sin(angle));
            }
        }
        return new RopeTables(cosBytes, sinBytes, maxSequenceLength, half);
    }
}
