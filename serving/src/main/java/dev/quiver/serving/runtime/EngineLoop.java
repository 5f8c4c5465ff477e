package dev.quiver.serving.runtime;

import ai.onnxruntime.OrtException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The engine thread. Each iteration prefills within a budget of prompt tokens (the rest of the prompt being
 * prefilled, then requests the {@link Scheduler} lets start, a long prompt in chunks over several iterations),
 * then decodes one token for every decoding sequence in one batch, whatever adapter each uses, and retires the
 * finished ones; so a long prompt delays the running batch by one chunk, never by its whole prefill. The
 * {@link PrefillBudget} sizes that chunk to a time budget while sequences decode. It sleeps only when nothing
 * is running and nothing could start.
 */
final class EngineLoop implements Runnable {
    private static final Logger LOG = Logger.getLogger(EngineLoop.class.getName());

    private final DecoderSession session;
    private final Scheduler scheduler;
    private final AdapterSlotAssigner slots;
    private final OutputProcessor output;
    private final RunningBatch batch;
    private final EngineCounters counters;
    private final PrefillBudget prefillBudget;
    // [0] samples on this thread; the others on the helpers, while the step's ONNX Runtime threads are idle
    private final RowSampler[] samplers;
    private final ExecutorService helpers;

    EngineLoop(DecoderSession session, Scheduler scheduler, AdapterSlotAssigner slots, OutputProcessor output,
               RunningBatch batch, EngineCounters counters, PrefillBudget prefillBudget, int sampleableVocab) {
        this.session = session;
        this.scheduler = scheduler;
        this.slots = slots;
        this.output = output;
        this.batch = batch;
        this.counters = counters;
        this.prefillBudget = prefillBudget;
        int vocab = Math.min(sampleableVocab, session.signature().config().vocabSize());
        this.samplers = new RowSampler[session.threads()];
        for (int i = 0; i < samplers.length; i++) {
            samplers[i] = new RowSampler(vocab);
        }
        AtomicInteger named = new AtomicInteger();
        this.helpers = samplers.length == 1 ? null : Executors.newFixedThreadPool(samplers.length - 1, r -> {
            Thread t = new Thread(r, "quiver-sampler-" + named.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    /** Stops the sampling helpers; the loop itself ends when the scheduler closes. */
    void close() {
        if (helpers != null) {
            helpers.shutdownNow();
        }
    }

    @Override
    public void run() {
        while (scheduler.isOpen()) {
            try {
                boolean prefilled = prefillWithinBudget();
                if (batch.hasDecoding()) {
                    decodeOneStep();
                } else if (!prefilled) {
                    scheduler.awaitSignal();
                }
            } catch (InterruptedException e) {
                return;
            } catch (Throwable t) {
                // a failed step leaves the KV rows in an unknown state: end every decoding sequence with the error
                LOG.log(Level.SEVERE, "decode step failed", t);
                for (RunningSequence s : batch.clearDecoding()) {
                    slots.release(s.slot);
                    output.fail(s.source, t);
                }
            }
        }
    }

    /** Ends every started sequence with {@code error}; call once this loop has stopped. */
    void failStarted(Throwable error) {
        for (RunningSequence s : batch.drain()) {
            output.fail(s.source, error);
        }
    }

    /** Spends up to the {@link PrefillBudget}'s prompt tokens on prefill; returns whether it changed anything. */
    private boolean prefillWithinBudget() {
        int budget = prefillBudget.tokens(batch.hasDecoding());
        boolean changed = false;
        while (budget > 0) {
            if (batch.prefilling() == null) {
                RunningSequence next = scheduler.next(batch);
                if (next == null) {
                    break;
                }
                batch.startPrefill(next);
            }
            budget -= prefillChunk(batch.prefilling(), budget);
            changed = true;
        }
        return changed;
    }

    /**
     * Runs the next chunk (at most {@code budget} tokens) of prefilling sequence {@code s}; after its last chunk
     * {@code s} samples its first token and joins the decoding batch. Returns the tokens consumed.
     */
    private int prefillChunk(RunningSequence s, int budget) {
        if (s.isCancelled()) {
            batch.dropPrefilling();
            end(s, FinishReason.CANCELLED);
            return 0;
        }
        int[] prompt = s.prompt();
        int n = Math.min(budget, prompt.length - s.length);
        boolean last = s.length + n == prompt.length;
        int[] chunk = Arrays.copyOfRange(prompt, s.length, s.length + n);
        StepLogits logits;
        long t0 = System.nanoTime();
        try {
            // a prefill writes only its own KV row, so a failure here leaves the decoding sequences intact
            logits = session.step(last ? StepBatch.prefill(s.row, chunk, s.length, s.slot, false)
                    : StepBatch.prefillWithoutLogits(s.row, chunk, s.length, s.slot));
        } catch (OrtException | RuntimeException e) {
            batch.dropPrefilling();
            slots.release(s.slot);
            output.fail(s.source, e);
            return n;
        }
        long nanos = System.nanoTime() - t0;
        counters.prefillChunk(n, nanos);
        prefillBudget.observe(n, nanos);
        s.length += n;
        if (last) {
            counters.prefillDone();
            SampledToken first;
            try {
                first = samplers[0].sample(s, logits, 0);
            } catch (RuntimeException e) {
                // as a failed chunk: only this sequence ends, and its slot is freed
                batch.dropPrefilling();
                slots.release(s.slot);
                output.fail(s.source, e);
                return n;
            }
            output.accept(s, first);
            if (s.finished == null) {
                batch.promotePrefilling();
            } else {
                batch.dropPrefilling();
                end(s, s.finished);
            }
        }
        return n;
    }

    /** One token for every decoding sequence, in one batch; cancelled and finished sequences retire around it. */
    private void decodeOneStep() throws OrtException, InterruptedException {
        for (RunningSequence s : batch.decoding()) {
            if (s.isCancelled()) {
                s.finished = FinishReason.CANCELLED;
            }
        }
        retireFinished();
        if (!batch.hasDecoding()) {
            return;
        }
        List<RunningSequence> rows = batch.decoding();
        int b = rows.size();
        int[] tokens = new int[b];
        int[] past = new int[b];
        int[] rowSlots = new int[b];
        for (int r = 0; r < b; r++) {
            RunningSequence s = rows.get(r);
            tokens[r] = s.lastToken;
            past[r] = s.length;
            rowSlots[r] = s.slot;
        }
        long t0 = System.nanoTime();
        StepLogits logits = session.step(StepBatch.decode(tokens, past, rowSlots));
        counters.decodeStep(b, System.nanoTime() - t0);
        SampledToken[] picked = sampleRows(rows, logits);
        for (int r = 0; r < b; r++) {
            RunningSequence s = rows.get(r);
            s.length++;
            output.accept(s, picked[r]);
        }
        retireFinished();
    }

    /**
     * Every row's next token. Drawing from a 152k-token vocabulary takes ~1 ms a row (temperature, top-p) against
     * ~40 us for greedy, so when some row draws, the rows are split between this thread and the helpers. Each row
     * touches only its own sequence (its random generator, its constraint's state), and its result does not depend
     * on which thread drew it.
     */
    private SampledToken[] sampleRows(List<RunningSequence> live, StepLogits logits) throws InterruptedException {
        List<RunningSequence> rows = List.copyOf(live);
        int b = rows.size();
        SampledToken[] picked = new SampledToken[b];
        boolean draws = rows.stream().anyMatch(s -> !s.params().greedy() || s.params().logprobs());
        int parts = helpers == null || !draws ? 1 : Math.min(b, samplers.length);
        List<Future<?>> others = new ArrayList<>();
        for (int part = 1; part < parts; part++) {
            int p = part;
            others.add(helpers.submit(() -> samplePart(rows, logits, picked, p, parts)));
        }
        Throwable failure = null;
        try {
            samplePart(rows, logits, picked, 0, parts);
        } catch (RuntimeException | Error e) {
            failure = e;
        }
        // every helper is waited for, whatever failed: the next step must not find one still on its sampler, its
        // sequences or the logits buffer
        boolean interrupted = false;
        for (Future<?> f : others) {
            while (true) {
                try {
                    f.get();
                    break;
                } catch (ExecutionException e) {
                    if (failure == null) {
                        failure = e.getCause();
                    } else {
                        failure.addSuppressed(e.getCause());
                    }
                    break;
                } catch (InterruptedException e) {
                    interrupted = true; // the helpers compute without blocking: they end soon
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
            throw new InterruptedException("the engine is closing");
        }
        if (failure instanceof RuntimeException re) {
            throw re;
        }
        if (failure instanceof Error err) {
            throw err;
        }
        if (failure != null) {
            throw new IllegalStateException("sampling failed", failure);
        }
        return picked;
    }

    // rows part, part + parts, part + 2 parts, ... with that part's sampler
    private void samplePart(List<RunningSequence> rows, StepLogits logits, SampledToken[] picked, int part,
                            int parts) {
        for (int r = part; r < rows.size(); r += parts) {
            picked[r] = samplers[part].sample(rows.get(r), logits, r);
        }
    }

    private void retireFinished() {
        for (RunningSequence s : batch.retireFinished()) {
            end(s, s.finished);
        }
    }

    private void end(RunningSequence s, FinishReason reason) {
        slots.release(s.slot);
        output.complete(s, reason);
    }
}
