package dev.quiver.serving.lora;

/** Every adapter slot holds an adapter that a running sequence uses or that is pinned; try again later. */
public class NoFreeSlotException extends Exception {
    public NoFreeSlotException(String message) {
        super(message);
    }
}
