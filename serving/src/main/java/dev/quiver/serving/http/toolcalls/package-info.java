/** Tool calls out of model answers: one parser per family format, and the request's tool fields. */
package dev.quiver.serving.http.toolcalls;
