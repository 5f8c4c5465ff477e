package dev.quiver.finetune.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * The fp32 matrix-multiply rate this machine reaches through the training engine: the best of a few
 * timed square products, with the same engine, device and thread settings the trainer uses.
 */
final class MatmulPeak {
    /** Side of the square matrices: big enough to be compute-bound, small enough to take about a second. */
    static final int SIZE = 2048;
    private static final int RUNS = 4;

    private MatmulPeak() {
    }

    /** Billions of floating-point operations per second (a multiply-add counts two). */
    static double gflops(NDManager parent) {
        try (NDManager m = parent.newSubManager()) {
            NDArray a = m.randomNormal(new Shape(SIZE, SIZE), DataType.FLOAT32);
            NDArray b = m.randomNormal(new Shape(SIZE, SIZE), DataType.FLOAT32);
            double best = Double.MAX_VALUE;
            for (int i = 0; i <= RUNS; i++) {
                long began = System.nanoTime();
                try (NDArray c = a.matMul(b)) {
                    // reading one element waits for the product, whatever the device
                    c.get(0, 0).getFloat();
                }
                double seconds = (System.nanoTime() - began) / 1e9;
                if (i > 0) {
                    // the first run warms caches and the allocator, so it is not counted
                    best = Math.min(best, seconds);
                }
            }
            return 2.0 * SIZE * SIZE * SIZE / best / 1e9;
        }
    }
}
