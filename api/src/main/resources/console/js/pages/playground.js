// Playground: one prompt against the base model and any adapters side by side, each answer streamed,
// with its token counts, time to first token and total latency.
import { api, streamEvents } from '../api.js';
import { el, errorBox, field } from '../dom.js';

export async function render(view, [preselected]) {
  let models;
  try {
    models = (await api('/v1/models')).data;
  } catch (error) {
    view.append(el('h1', {}, 'Playground'), errorBox(error));
    return undefined;
  }
  const picks = models.map((m, i) => {
    const box = el('input', { type: 'checkbox', id: `model-${i}`, value: m.id,
      checked: preselected ? m.id === preselected || !m.parent : !m.parent });
    return el('label', { class: 'check' }, box, ` ${m.id}${m.parent ? '' : ' (base)'}`);
  });
  const system = el('textarea', { id: 'pg-system', rows: 2 });
  const prompt = el('textarea', { id: 'pg-prompt', rows: 3, required: true });
  const maxTokens = el('input', { id: 'pg-max-tokens', type: 'number', min: 1, value: 32 });
  const temperature = el('input', { id: 'pg-temperature', type: 'number', min: 0, max: 2, step: 0.1, value: 0 });
  const answers = el('div', { id: 'pg-answers', class: 'columns' });
  const abort = new AbortController();
  const form = el('form', { id: 'pg-form', class: 'card' },
    el('fieldset', {}, el('legend', {}, 'Models'), picks),
    field('System prompt', system), field('User message', prompt),
    el('div', { class: 'grid' }, field('Max tokens', maxTokens), field('Temperature', temperature)),
    el('button', { id: 'pg-run', type: 'submit' }, 'Run'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const chosen = picks.map((p) => p.querySelector('input')).filter((b) => b.checked).map((b) => b.value);
    const messages = [];
    if (system.value.trim()) messages.push({ role: 'system', content: system.value });
    messages.push({ role: 'user', content: prompt.value });
    answers.replaceChildren(...chosen.map((model, i) => {
      const column = el('section', { class: 'card answer', id: `answer-${i}`, dataset: { model, chunks: '0' } });
      run(column, { model, messages, stream: true, stream_options: { include_usage: true },
        max_tokens: parseInt(maxTokens.value, 10), temperature: parseFloat(temperature.value) }, abort.signal);
      return column;
    }));
  });
  view.append(el('h1', {}, 'Playground'), form, answers);
  return () => abort.abort();
}

async function run(column, request, signal) {
  const text = el('pre', { class: 'output' });
  const stats = el('p', { class: 'muted' }, 'waiting…');
  column.append(el('h2', {}, request.model), text, stats);
  const started = performance.now();
  let firstToken = null;
  let usage = null;
  let chunks = 0;
  try {
    await streamEvents('/v1/chat/completions', { method: 'POST', json: request, signal, onEvent: (chunk) => {
      if (chunk.usage) usage = chunk.usage;
      const delta = chunk.choices && chunk.choices[0] && chunk.choices[0].delta;
      if (delta && delta.content) {
        firstToken = firstToken ?? performance.now() - started;
        text.textContent += delta.content;
        column.dataset.chunks = String(++chunks);
        stats.textContent = `streaming… ${chunks} chunks`;
      }
    } });
    const total = performance.now() - started;
    const tokens = usage ? `${usage.prompt_tokens} prompt + ${usage.completion_tokens} completion tokens, ` : '';
    stats.textContent = `${tokens}first token ${Math.round(firstToken ?? total)} ms, total ${Math.round(total)} ms`;
    column.dataset.done = 'true';
  } catch (error) {
    if (error.name !== 'AbortError') {
      stats.replaceWith(errorBox(error));
      column.dataset.done = 'error';
    }
  }
}
