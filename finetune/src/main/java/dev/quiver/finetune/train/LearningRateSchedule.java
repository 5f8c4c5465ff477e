package dev.quiver.finetune.train;

/**
 * Linear warmup to the peak rate, then cosine decay towards zero, as transformers'
 * {@code get_cosine_schedule_with_warmup} but with the first warmup step already above zero.
 */
record LearningRateSchedule(double peak, int warmupSteps, int totalSteps) {

    /** The rate for the update of step {@code step} (0-based). */
    double at(int step) {
        if (step < warmupSteps) {
            return peak * (step + 1) / (warmupSteps + 1);
        }
        double progress = (double) (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
        return peak * Math.max(0, 0.5 * (1 + Math.cos(Math.PI * progress)));
    }
}
