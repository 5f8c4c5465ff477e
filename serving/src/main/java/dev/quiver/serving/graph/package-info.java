/** Compiles Hugging Face decoders into ONNX graphs with multi-LoRA branches. */
package dev.quiver.serving.graph;
