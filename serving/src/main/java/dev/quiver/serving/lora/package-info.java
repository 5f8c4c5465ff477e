/** Known adapters (registry, host cache), active slots, and the pools the graph reads. */
package dev.quiver.serving.lora;
