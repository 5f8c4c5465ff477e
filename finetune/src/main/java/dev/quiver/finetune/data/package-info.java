/** Fine-tuning data: JSONL reading with line-numbered errors, tokenization with loss masks, micro-batching. */
package dev.quiver.finetune.data;
