// Tasks: each task's adapter and revision with its call count, error rate and latency; a form that
// creates a task with its schemas; invoking a task with a JSON input; its versions with rollback.
import { api, ApiError } from '../api.js';
import { el, errorBox, field, fill, table } from '../dom.js';

const EXAMPLE_INPUT_SCHEMA = {
  type: 'object',
  properties: { ticket: { type: 'string', description: "the customer's message" } },
  required: ['ticket'],
};

export async function render(view) {
  const list = el('div', { id: 'task-list' });
  const detail = el('section', { id: 'task-detail', 'aria-live': 'polite' });
  view.append(el('h1', {}, 'Tasks'), list, detail, await createForm(() => showTasks(list, detail)));
  await showTasks(list, detail);
}

async function showTasks(list, detail) {
  await fill(list, async () => {
    const tasks = (await api('/v1/tasks')).data;
    const stats = await Promise.all(tasks.map((t) => api(`/v1/tasks/${t.name}/stats`).catch(() => null)));
    return table('Tasks', ['Task', 'Status', 'Adapter', 'Revision', 'Calls', 'Error rate', 'Latency p50 / p99', ''],
      tasks.map((t, i) => {
        const s = stats[i];
        return [el('strong', {}, t.name), el('span', { class: `status status-${t.status}` }, t.status),
          t.adapter || (t.training_job ? el('a', { href: `#/jobs/${t.training_job}` }, 'training…') : '—'),
          String(t.revision), s ? String(s.calls) : '',
          s && s.calls ? `${((100 * s.errors) / s.calls).toFixed(1)} %` : '—',
          s && s.calls ? `${Math.round(s.latency_ms.p50)} / ${Math.round(s.latency_ms.p99)} ms` : '—',
          el('button', { type: 'button', onclick: () => showTask(detail, t, () => showTasks(list, detail)) },
            'Open')];
      }));
  });
}

async function showTask(detail, task, changed) {
  const input = el('textarea', { id: 'invoke-input', rows: 4, spellcheck: 'false' },
    JSON.stringify(exampleInput(task.input_schema), null, 2));
  const output = el('div', { id: 'invoke-output', 'aria-live': 'polite' });
  const invoke = el('form', { id: 'invoke-form', class: 'card' }, el('h3', {}, 'Invoke'),
    field('Input (JSON)', input, 'must match the input schema'),
    el('button', { id: 'invoke-submit', type: 'submit' }, 'Invoke'), output);
  invoke.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const result = await api(`/v1/tasks/${task.name}/invoke`, { method: 'POST', json: { input: parseJson(input) } });
      output.replaceChildren(el('dl', { class: 'facts' },
        el('dt', {}, 'Output'), el('dd', {}, el('code', { id: 'invoke-result' }, JSON.stringify(result.output))),
        el('dt', {}, 'Adapter'), el('dd', {}, result.adapter),
        el('dt', {}, 'Tokens'), el('dd', {}, `${result.usage.prompt_tokens} in, ${result.usage.completion_tokens} out`),
        el('dt', {}, 'Latency'), el('dd', {}, `${result.latency_ms} ms`)));
      changed();
    } catch (error) {
      output.replaceChildren(errorBox(error));
    }
  });
  const versions = el('div', { id: 'task-versions' });
  const savings = el('div', { id: 'task-savings', hidden: true });
  detail.replaceChildren(el('div', { class: 'card' }, el('h2', {}, task.name), el('p', {}, task.description),
    el('dl', { class: 'facts' }, el('dt', {}, 'Prompt template'), el('dd', {}, el('code', {}, task.prompt_template)),
      el('dt', {}, 'Input schema'), el('dd', {}, el('code', {}, JSON.stringify(task.input_schema))),
      el('dt', {}, 'Output schema'), el('dd', {}, el('code', {}, JSON.stringify(task.output_schema))))),
  savings, invoke, el('h3', {}, 'Versions'), versions);
  showSavings(savings, task);
  await fill(versions, async () => table('Adapter versions of the task', ['Revision', 'Adapter', 'Source job', 'Reason', ''],
    (await api(`/v1/tasks/${task.name}/versions`)).data.map((v) => [String(v.revision), v.adapter,
      v.source_job || '', v.reason, v.active ? 'active' : ''])));
  if (task.revision > 1) {
    const back = el('button', { type: 'button', id: 'task-rollback' }, 'Roll back to the previous adapter');
    back.addEventListener('click', async () => {
      if (!confirm(`Roll ${task.name} back to its previous adapter?`)) return;
      try {
        const updated = await api(`/v1/tasks/${task.name}/rollback`, { method: 'POST', json: {} });
        await showTask(detail, updated, changed);
        changed();
      } catch (error) {
        versions.append(errorBox(error));
      }
    });
    versions.append(back);
  }
}

// QUALITY AND SAVINGS: the data engine (evals, savings against the upstream model) answers
// /v1/tasks/{name}/savings once it exists; until then that is a 404 and this panel stays hidden.
async function showSavings(panel, task) {
  try {
    const savings = await api(`/v1/tasks/${task.name}/savings`);
    panel.replaceChildren(el('div', { class: 'card' }, el('h3', {}, 'Quality and savings'),
      el('dl', { class: 'facts' }, Object.entries(savings).filter(([k]) => k !== 'object')
        .map(([k, v]) => [el('dt', {}, k.replace(/_/g, ' ')), el('dd', {}, typeof v === 'object' ? JSON.stringify(v) : String(v))]))));
    panel.hidden = false;
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 404) {
      panel.replaceChildren(errorBox(error));
      panel.hidden = false;
    }
  }
}

function exampleInput(schema) {
  const out = {};
  for (const name of Object.keys((schema && schema.properties) || {})) out[name] = '';
  return out;
}

function parseJson(textarea) {
  try {
    return JSON.parse(textarea.value);
  } catch (e) {
    throw new ApiError(0, `${textarea.labels[0].textContent} is not valid JSON: ${e.message}`, null);
  }
}

async function createForm(created) {
  const adapters = await api('/v1/adapters').then((r) => r.data).catch(() => []);
  const name = el('input', { id: 'task-name', type: 'text', required: true, pattern: '[A-Za-z0-9_\\-]{1,64}' });
  const description = el('input', { id: 'task-description', type: 'text', required: true });
  const adapter = el('select', { id: 'task-adapter', required: true },
    adapters.map((a) => el('option', { value: `${a.name}@${a.version}` }, `${a.name}@${a.version}`)));
  const system = el('textarea', { id: 'task-system', rows: 2 });
  const template = el('input', { id: 'task-template', type: 'text', value: 'Ticket: {{ ticket }}', required: true });
  const inputSchema = el('textarea', { id: 'task-input-schema', rows: 5, spellcheck: 'false' },
    JSON.stringify(EXAMPLE_INPUT_SCHEMA, null, 2));
  const outputSchema = el('textarea', { id: 'task-output-schema', rows: 3, spellcheck: 'false' });
  const temperature = el('input', { id: 'task-temperature', type: 'number', min: 0, step: 0.1, value: 0 });
  const maxTokens = el('input', { id: 'task-max-tokens', type: 'number', min: 1, value: 16 });
  const out = el('div', { 'aria-live': 'polite' });
  const form = el('form', { id: 'task-form', class: 'card' }, el('h2', {}, 'Create a task'),
    el('div', { class: 'grid' }, field('Name', name, 'letters, digits, _ or -'), field('Description', description),
      field('Adapter', adapter), field('Temperature', temperature), field('Max tokens', maxTokens)),
    field('System prompt', system), field('Prompt template (Jinja)', template),
    field('Input schema (JSON Schema)', inputSchema), field('Output schema (optional)', outputSchema),
    el('button', { id: 'task-submit', type: 'submit' }, 'Create'), out);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const body = { name: name.value, description: description.value, adapter: adapter.value,
        prompt_template: template.value, input_schema: parseJson(inputSchema),
        generation: { temperature: parseFloat(temperature.value), max_tokens: parseInt(maxTokens.value, 10) } };
      if (system.value.trim()) body.system_prompt = system.value;
      if (outputSchema.value.trim()) body.output_schema = parseJson(outputSchema);
      const task = await api('/v1/tasks', { method: 'POST', json: body });
      out.replaceChildren(el('p', { class: 'ok' }, `Created ${task.name}.`));
      await created();
    } catch (error) {
      out.replaceChildren(errorBox(error));
    }
  });
  return form;
}
