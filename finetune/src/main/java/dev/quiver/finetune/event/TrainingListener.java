package dev.quiver.finetune.event;

/**
 * Receives a run's progress. Called on the training thread between steps, so it must be quick; a
 * listener that forwards events over the network should queue them.
 */
@FunctionalInterface
public interface TrainingListener {

    void onEvent(TrainingEvent event);

    /** A listener that ignores everything. */
    static TrainingListener none() {
        return e -> {
        };
    }
}
