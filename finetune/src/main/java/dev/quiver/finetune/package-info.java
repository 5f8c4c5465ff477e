/**
 * LoRA fine-tuning on DJL's PyTorch engine. {@link dev.quiver.finetune.FineTune} runs one job from a
 * {@link dev.quiver.finetune.FineTuneSpec} and reports through a
 * {@link dev.quiver.finetune.event.TrainingListener}; the CLI and the job runner are thin wrappers around it.
 */
package dev.quiver.finetune;
