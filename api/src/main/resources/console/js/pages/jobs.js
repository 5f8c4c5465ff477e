// Jobs: the fine-tuning jobs with their status, a form that starts one, and one job live - its events
// streamed over SSE, loss and token accuracy charts that grow while it trains, checkpoints, cancel.
import { api, streamEvents } from '../api.js';
import { metricChart } from '../chart.js';
import { el, errorBox, field, fill, table, time } from '../dom.js';

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);

export async function render(view, [id, file]) {
  if (id && id !== 'new') {
    return renderJob(view, id);
  }
  const list = el('div', { id: 'job-list' });
  view.append(el('h1', {}, 'Jobs'), await newJobForm(file), el('h2', {}, 'Fine-tuning jobs'), list);
  await fill(list, async () => {
    const jobs = (await api('/v1/fine_tuning/jobs?limit=100')).data;
    return table('Fine-tuning jobs', ['Job', 'Status', 'Base', 'Training file', 'Adapter', 'Created'],
      jobs.map((j) => [el('a', { href: `#/jobs/${j.id}` }, j.id), status(j.status), j.model, j.training_file,
        j.fine_tuned_model || '', time(j.created_at)]));
  });
  return undefined;
}

function status(value) {
  return el('span', { class: `status status-${value}` }, value);
}

function number(id, value, attrs = {}) {
  return el('input', { id, type: 'number', value, ...attrs });
}

async function newJobForm(preselected) {
  const [files, models] = await Promise.all([api('/v1/files'), api('/v1/models')]).catch((e) => [e, e]);
  if (files instanceof Error) {
    return errorBox(files);
  }
  const base = models.data.filter((m) => !m.parent);
  const fileSelect = el('select', { id: 'job-file', required: true },
    files.data.map((f) => el('option', { value: f.id, selected: f.id === preselected },
      `${f.filename} (${f.id}, ${f.statistics.examples} examples)`)));
  const validation = el('select', { id: 'job-validation' }, el('option', { value: '' }, 'none'),
    files.data.map((f) => el('option', { value: f.id }, `${f.filename} (${f.id})`)));
  const model = el('select', { id: 'job-model' }, base.map((m) => el('option', { value: m.id }, m.id)));
  const suffix = el('input', { id: 'job-suffix', type: 'text', pattern: '[A-Za-z0-9_\\-]*', maxlength: 40 });
  const epochs = number('job-epochs', '', { min: 1, placeholder: 'auto' });
  const batch = number('job-batch', '', { min: 1, placeholder: 'auto' });
  const lr = number('job-lr', '', { min: 0, step: 'any', placeholder: 'auto' });
  const rank = number('job-rank', '', { min: 1, placeholder: 'auto' });
  const seed = number('job-seed', '', { placeholder: 'random' });
  const out = el('div', { 'aria-live': 'polite' });
  const form = el('form', { id: 'job-form', class: 'card' }, el('h2', {}, 'Start a fine-tune'),
    el('div', { class: 'grid' }, field('Training file', fileSelect), field('Validation file', validation),
      field('Base model', model), field('Suffix', suffix, 'names the adapter: ft:base:suffix:job'),
      field('Epochs', epochs), field('Batch size', batch), field('Learning rate', lr), field('LoRA rank', rank),
      field('Seed', seed)),
    el('button', { id: 'job-submit', type: 'submit' }, 'Start'), out);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const hyperparameters = {};
    for (const [name, input] of [['n_epochs', epochs], ['batch_size', batch], ['lora_rank', rank]]) {
      if (input.value) hyperparameters[name] = parseInt(input.value, 10);
    }
    if (lr.value) hyperparameters.learning_rate = parseFloat(lr.value);
    const body = { model: model.value, training_file: fileSelect.value, hyperparameters };
    if (validation.value) body.validation_file = validation.value;
    if (suffix.value) body.suffix = suffix.value;
    if (seed.value) body.seed = parseInt(seed.value, 10);
    try {
      const job = await api('/v1/fine_tuning/jobs', { method: 'POST', json: body });
      location.hash = `#/jobs/${job.id}`;
    } catch (error) {
      out.replaceChildren(errorBox(error));
    }
  });
  return form;
}

function renderJob(view, id) {
  const head = el('div', { id: 'job-head', class: 'card' });
  const charts = el('div', { class: 'charts' });
  const checkpoints = el('div', { id: 'job-checkpoints' });
  const log = el('ol', { id: 'job-events', class: 'events' });
  view.append(el('p', {}, el('a', { href: '#/jobs' }, '← Jobs')), el('h1', {}, `Job ${id}`), head, charts,
    el('h2', {}, 'Checkpoints'), checkpoints, el('h2', {}, 'Events'), log);
  const loss = metricChart(charts, 'loss-chart', 'Loss', ['train loss', 'validation loss']);
  const accuracy = metricChart(charts, 'accuracy-chart', 'Token accuracy', ['train', 'validation']);
  const abort = new AbortController();

  const refresh = async () => {
    await fill(head, () => jobHead(id, refresh));
    await fill(checkpoints, async () => table('Checkpoints', ['Step', 'Metrics', 'Saved'],
      (await api(`/v1/fine_tuning/jobs/${id}/checkpoints`)).data.map((c) => [String(c.step_number),
        c.metrics ? el('code', {}, JSON.stringify(c.metrics)) : '', time(c.created_at)])));
  };
  const onEvent = (event) => {
    log.prepend(el('li', { class: `level-${event.level}` }, el('time', {}, time(event.created_at)), ' ',
      event.message));
    const d = event.data;
    if (event.type === 'metrics' && d && d.step !== undefined) {
      loss.add(d.step, [d.train_loss, d.valid_loss]);
      accuracy.add(d.step, [d.train_mean_token_accuracy, d.valid_mean_token_accuracy]);
    } else if (event.type === 'message') {
      refresh();
    }
  };
  refresh().then(() => streamEvents(`/v1/fine_tuning/jobs/${id}/events?stream=true`, { signal: abort.signal, onEvent }))
    .then(refresh)
    .catch((error) => {
      if (error.name !== 'AbortError') {
        log.prepend(el('li', {}, errorBox(error)));
      }
    });
  return () => {
    abort.abort();
    loss.destroy();
    accuracy.destroy();
  };
}

async function jobHead(id, refresh) {
  const job = await api(`/v1/fine_tuning/jobs/${id}`);
  const h = job.hyperparameters || {};
  const cancel = el('button', { id: 'job-cancel', type: 'button', class: 'danger' }, 'Cancel job');
  cancel.addEventListener('click', async () => {
    if (confirm(`Cancel ${id}?`)) {
      try {
        await api(`/v1/fine_tuning/jobs/${id}/cancel`, { method: 'POST', json: {} });
      } catch (error) {
        cancel.after(errorBox(error));
      }
      refresh();
    }
  });
  return el('div', {},
    el('p', {}, 'Status: ', el('strong', { id: 'job-status', dataset: { status: job.status } }, job.status)),
    el('dl', { class: 'facts' },
      el('dt', {}, 'Base model'), el('dd', {}, job.model),
      el('dt', {}, 'Training file'), el('dd', {}, job.training_file),
      el('dt', {}, 'Hyperparameters'), el('dd', {}, Object.entries(h).map(([k, v]) => `${k}=${v}`).join(', ')),
      el('dt', {}, 'Trained tokens'), el('dd', {}, job.trained_tokens == null ? '' : String(job.trained_tokens)),
      el('dt', {}, 'Adapter'), el('dd', { id: 'job-adapter' }, job.fine_tuned_model
        ? el('a', { href: `#/playground/${encodeURIComponent(job.fine_tuned_model)}` }, job.fine_tuned_model) : '—')),
    job.error ? errorBox(job.error) : null,
    TERMINAL.has(job.status) ? null : cancel);
}
