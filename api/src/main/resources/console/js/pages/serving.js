// Serving: what the engine holds (base model, LoRA slots and limits, the adapters it can load) and its
// counters, read from /prometheus (the `quiver_serving_*` meters) every few seconds; tokens/s is the
// change of the generated-tokens counter between two reads.
import { api } from '../api.js';
import { el, errorBox, fill, table } from '../dom.js';

const POLL_MS = 2000;
const METERS = [
  ['quiver_serving_queue_depth', 'Queue depth (requests waiting)'],
  ['quiver_serving_running_rows', 'Sequences decoding now'],
  ['quiver_serving_generated_tokens_total', 'Tokens generated'],
  ['quiver_serving_prefill_tokens_total', 'Prompt tokens prefilled'],
  ['quiver_serving_decode_steps_total', 'Decode steps'],
  ['quiver_serving_adapter_loads_total', 'Adapter loads into a slot'],
  ['quiver_serving_slot_evictions_total', 'Slot evictions'],
  ['quiver_serving_adapter_reads_total', 'Adapter reads from disk'],
];

/** Parses Prometheus' text format into name -> summed value (labels dropped: one engine per process). */
export function parsePrometheus(text) {
  const values = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (match) values.set(match[1], (values.get(match[1]) || 0) + Number(match[3]));
  }
  return values;
}

export async function render(view) {
  const limits = el('div', { id: 'serving-limits' });
  const meters = el('div', { id: 'serving-meters', 'aria-live': 'off' });
  const models = el('div', { id: 'serving-models' });
  view.append(el('h1', {}, 'Serving'), limits, el('h2', {}, 'Engine'), meters, el('h2', {}, 'Models'), models);
  await fill(limits, async () => {
    const l = await api('/v1/serving/limits');
    return el('dl', { class: 'facts card' }, el('dt', {}, 'Base model'), el('dd', {}, l.base_model),
      el('dt', {}, 'LoRA slots'), el('dd', { id: 'lora-slots' }, String(l.lora_slots)),
      el('dt', {}, 'Max batch'), el('dd', {}, String(l.max_batch)),
      el('dt', {}, 'Max LoRA rank'), el('dd', {}, String(l.max_lora_rank)),
      el('dt', {}, 'LoRA targets'), el('dd', {}, l.lora_targets.join(', ')),
      el('dt', {}, 'Context'), el('dd', {}, `${l.max_sequence_length} tokens`));
  });
  await fill(models, async () => table('Models the engine serves', ['Model', 'Kind'],
    (await api('/v1/models')).data.map((m) => [m.id, m.parent ? `adapter on ${m.parent}` : 'base'])));
  let previous = null;
  const poll = async () => {
    await fill(meters, async () => {
      const now = { at: performance.now(), values: parsePrometheus(await api('/prometheus', { text: true })) };
      const generated = 'quiver_serving_generated_tokens_total';
      const rate = previous ? (now.values.get(generated) - previous.values.get(generated))
        / ((now.at - previous.at) / 1000) : null;
      previous = now;
      return table('Engine counters', ['Meter', 'Value'], [
        ['Tokens/s (last interval)', rate === null ? '…' : rate.toFixed(1)],
        ...METERS.map(([name, label]) => [label, now.values.has(name) ? String(now.values.get(name)) : 'n/a'])]);
    });
  };
  await poll();
  const timer = setInterval(poll, POLL_MS);
  return () => clearInterval(timer);
}
