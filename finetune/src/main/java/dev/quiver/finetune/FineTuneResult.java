package dev.quiver.finetune;

import java.nio.file.Path;

/** A finished run: the PEFT adapter directory (holding training_metrics.json too) and its metrics. */
public record FineTuneResult(Path adapterDir, TrainingMetrics metrics) {
}
