package dev.quiver.finetune;

import dev.quiver.adapters.peft.PeftAdapter;
import java.util.Optional;

/**
 * The bounds of the requestable hyperparameters, defined once: the trainer enforces them and the jobs API
 * validates requests with the same ones, so a job the API accepts is never refused when it starts training.
 */
public final class HyperparameterLimits {
    public static final Range N_EPOCHS = Range.integers("n_epochs", 1, 100);
    public static final Range BATCH_SIZE = Range.integers("batch_size", 1, 512);
    /** A rate of 1 or more makes AdamW's first steps overwrite what the base model knows. */
    public static final Range LEARNING_RATE = new Range("learning_rate", 0, false, 1, false, false);
    /** What the PEFT format and the trainer hold; a serving tier may hold less (its own limit). */
    public static final Range LORA_RANK = Range.integers("lora_rank", 1, PeftAdapter.MAX_RANK);
    public static final Range LORA_ALPHA = new Range("lora_alpha", 0, false, 10_000, true, false);

    private HyperparameterLimits() {
    }

    /**
     * One numeric bound: {@code min} and {@code max}, each inclusive or not; {@code integer} for counts.
     *
     * @param name the hyperparameter's wire name, e.g. {@code learning_rate}
     */
    public record Range(String name, double min, boolean minInclusive, double max, boolean maxInclusive,
                        boolean integer) {

        static Range integers(String name, int min, int max) {
            return new Range(name, min, true, max, true, true);
        }

        /** The bound in words, e.g. {@code "greater than 0 and less than 1"}. */
        public String describe() {
            return (minInclusive ? "at least " : "greater than ") + format(min) + " and "
                    + (maxInclusive ? "at most " : "less than ") + format(max);
        }

        /**
         * What is wrong with {@code value} (any JSON value as the API got it), naming it {@code label}; empty
         * when it is within the bound.
         */
        public Optional<String> problem(String label, Object value) {
            if (!(value instanceof Number n)) {
                return Optional.of(label + " must be " + (integer ? "an integer" : "a number") + ", got " + value);
            }
            double v = n.doubleValue();
            if (integer && v != Math.rint(v)) {
                return Optional.of(label + " must be an integer, got " + value);
            }
            boolean above = minInclusive ? v >= min : v > min;
            boolean below = maxInclusive ? v <= max : v < max;
            return above && below ? Optional.empty()
                    : Optional.of(label + " must be " + describe() + ", got " + value);
        }

        private static String format(double d) {
            return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
        }
    }
}
