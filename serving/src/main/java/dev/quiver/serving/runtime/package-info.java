/** Sessions, KV cache, sampling, and the continuous-batching generation engine. */
package dev.quiver.serving.runtime;
