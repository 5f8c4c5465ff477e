/** The training loop and what it needs: trainable factors, AdamW, schedule, evaluation, checkpoints. */
package dev.quiver.finetune.train;
