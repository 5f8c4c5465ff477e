/** Multi-LoRA inference on ONNX Runtime; filled by the serving issue. */
package dev.quiver.serving;
