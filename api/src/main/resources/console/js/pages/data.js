// Data: upload a JSONL training file (the API validates it line by line and the page shows each bad
// line's error), the uploaded files with their statistics, and a preview of a file's first examples.
import { api } from '../api.js';
import { bytes, el, errorBox, field, fill, table, time } from '../dom.js';

const PREVIEW_LINES = 3;

export async function render(view) {
  const result = el('div', { id: 'upload-result', 'aria-live': 'polite' });
  const list = el('div', { id: 'file-list' });
  const preview = el('section', { id: 'file-preview', 'aria-live': 'polite' });
  const input = el('input', { id: 'upload-file', type: 'file', accept: '.jsonl,.json,application/jsonl', required: true });
  const form = el('form', { id: 'upload-form', class: 'card' },
    el('h2', {}, 'Upload training data'),
    el('p', {}, 'JSONL: one example per line, chat form ', el('code', {}, '{"messages": [...]}'),
      ' or ', el('code', {}, '{"prompt": ..., "completion": ...}'), '.'),
    field('File', input),
    el('button', { id: 'upload-submit', type: 'submit' }, 'Upload'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!input.files.length) {
      return;
    }
    const body = new FormData();
    body.append('purpose', 'fine-tune');
    body.append('file', input.files[0]);
    result.replaceChildren(el('p', { class: 'muted' }, 'Validating…'));
    try {
      const file = await api('/v1/files', { method: 'POST', form: body });
      result.replaceChildren(el('p', { class: 'ok' }, `Uploaded ${file.filename} as `, el('code', {}, file.id),
        `: ${file.statistics.examples} examples, ${file.statistics.tokens} tokens.`));
      form.reset();
      await showFiles(list, preview);
      await showPreview(preview, file);
    } catch (error) {
      result.replaceChildren(el('h3', {}, 'The file was refused'), errorBox(error));
    }
  });
  view.append(el('h1', {}, 'Data'), form, result, el('h2', {}, 'Files'), list, preview);
  await showFiles(list, preview);
}

async function showFiles(list, preview) {
  await fill(list, async () => {
    const files = (await api('/v1/files')).data;
    return table('Uploaded files', ['File', 'Id', 'Size', 'Format', 'Examples', 'Tokens', 'Uploaded', ''],
      files.map((f) => [f.filename, el('code', {}, f.id), bytes(f.bytes), f.statistics.format,
        String(f.statistics.examples), String(f.statistics.tokens), time(f.created_at),
        el('span', { class: 'actions' },
          el('button', { type: 'button', onclick: () => showPreview(preview, f) }, 'Preview'),
          el('a', { class: 'button', href: `#/jobs/new/${encodeURIComponent(f.id)}` }, 'Fine-tune'))]));
  });
}

async function showPreview(preview, file) {
  await fill(preview, async () => {
    const text = await api(`/v1/files/${encodeURIComponent(file.id)}/content`, { text: true });
    const lines = text.split('\n').filter((l) => l.trim()).slice(0, PREVIEW_LINES);
    return el('div', { class: 'card' }, el('h2', {}, `First examples of ${file.filename}`),
      lines.map((line) => el('pre', { class: 'example' }, JSON.stringify(JSON.parse(line), null, 2))));
  });
}
