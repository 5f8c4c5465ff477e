/** The serving engine's counters as Micrometer meters, for whatever registry the app runs (Prometheus in api). */
package dev.quiver.serving.metrics;
