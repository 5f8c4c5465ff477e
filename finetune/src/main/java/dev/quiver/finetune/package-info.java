/** LoRA fine-tuning on DJL's PyTorch engine; filled by the trainer issue. */
package dev.quiver.finetune;
