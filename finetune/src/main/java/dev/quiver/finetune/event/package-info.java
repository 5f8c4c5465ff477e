/** Progress events of a run and the listener they are delivered to. */
package dev.quiver.finetune.event;
