package dev.quiver.serving.runtime;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import dev.quiver.serving.graph.DecoderSignature;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The KV cache: per layer, one key and one value buffer of {@code rows} sequences in GroupQueryAttention's
 * BNSH layout {@code [row, kvHead, position, headDim]}, each row holding up to {@code maxSequenceLength}
 * positions. A step binds a contiguous run of rows as both past and present, so the op appends in place.
 */
public final class KvCache implements AutoCloseable {
    private final OrtEnvironment env;
    private final DecoderSignature signature;
    private final int rows;
    private final FloatBuffer[] keys;
    private final FloatBuffer[] values;
    private final Map<Long, Map<String, OnnxTensor>> views = new HashMap<>();

    public KvCache(OrtEnvironment env, DecoderSignature signature, int rows) {
        this.env = env;
        this.signature = signature;
        this.rows = rows;
        int layers = signature.config().numLayers();
        long floats = rows * signature.kvRowFloats();
        if (floats * Float.BYTES > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("a KV cache of " + rows + " sequences x " + signature.maxSequenceLength()
                    + " positions needs " + floats * 4 + " bytes per layer, above 2 GiB; lower the batch size or the"
                    + " max sequence length");
        }
        keys = new FloatBuffer[layers];
        values = new FloatBuffer[layers];
        for (int l = 0; l < layers; l++) {
            keys[l] = ByteBuffer.allocateDirect((int) (floats * Float.BYTES)).order(ByteOrder.nativeOrder())
                    .asFloatBuffer();
            values[l] = ByteBuffer.allocateDirect((int) (floats * Float.BYTES)).order(ByteOrder.nativeOrder())
                    .asFloatBuffer();
        }
    }

    public int rows() {
        return rows;
    }

    /** {@code past_key.L}/{@code past_value.L} over rows {@code [first, first + count)}, reused across steps. */
    Map<String, OnnxTensor> pastInputs(int first, int count) throws OrtException {
        if (first < 0 || count < 1 || first + count > rows) {
            throw new IllegalArgumentException("KV rows [" + first + ", " + (first + count) + ") outside the cache's "
                    + rows + " rows");
        }
        long key = ((long) first << 32) | count;
        Map<String, OnnxTensor> v = views.get(key);
        if (v == null) {
            v = new LinkedHashMap<>();
            long[] shape = {count, signature.config().numKvHeads(), signature.maxSequenceLength(),
                    signature.config().headDim()};
            int from = (int) (first * signature.kvRowFloats());
            int length = (int) (count * signature.kvRowFloats());
            for (int l = 0; l < keys.length; l++) {
                v.put(DecoderSignature.pastKey(l), OnnxTensor.createTensor(env, keys[l].slice(from, length), shape));
                v.put(DecoderSignature.pastValue(l),
                        OnnxTensor.createTensor(env, values[l].slice(from, length), shape));
            }
            views.put(key, v);
        }
        return v;
    }

    /** Copies the first {@code length} positions of row {@code from} into row {@code to}, every layer and head. */
    public void moveRow(int from, int to, int length) {
        if (from == to || length == 0) {
            return;
        }
        int heads = signature.config().numKvHeads();
        int headDim = signature.config().headDim();
        int headStride = signature.maxSequenceLength() * headDim;
        float[] tmp = new float[length * headDim];
        for (int l = 0; l < keys.length; l++) {
            for (FloatBuffer buf : new FloatBuffer[] {keys[l], values[l]}) {
                for (int h = 0; h < heads; h++) {
                    int src = (int) (from * signature.kvRowFloats()) + h * headStride;
                    int dst = (int) (to * signature.kvRowFloats()) + h * headStride;
                    buf.get(src, tmp, 0, tmp.length);
                    buf.put(dst, tmp, 0, tmp.length);
                }
            }
        }
    }

    @Override
    public void close() {
        views.values().forEach(m -> m.values().forEach(OnnxTensor::close));
        views.clear();
    }
}
