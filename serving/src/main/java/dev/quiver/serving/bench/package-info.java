/** Serving benchmarks: throughput and latency of the engine on generated models, base and multi-adapter. */
package dev.quiver.serving.bench;
