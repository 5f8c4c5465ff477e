/** The llama/qwen2/qwen3 decoder with LoRA branches, in transformers' fp32 math, and its pure logits API. */
package dev.quiver.finetune.model;
