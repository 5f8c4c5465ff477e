/**
 * Multi-LoRA inference on ONNX Runtime: {@code graph} compiles a Hugging Face decoder into an ONNX graph with
 * adapter pools, {@code lora} keeps the adapter registry and slots, {@code runtime} runs sessions, the KV cache,
 * sampling and the continuous-batching engine.
 */
package dev.quiver.serving;
