// Adapters: the registry's versions with size, rank, source job and the tasks that use each; download,
// delete (after confirmation), and promoting a version onto a task (rollback is on the Tasks page).
import { api } from '../api.js';
import { apiKey } from '../api.js';
import { bytes, el, errorBox, fill, table, time } from '../dom.js';

export async function render(view) {
  const list = el('div', { id: 'adapter-list' });
  const out = el('div', { 'aria-live': 'polite' });
  view.append(el('h1', {}, 'Adapters'), out, list);
  await show(list, out);
}

async function show(list, out) {
  await fill(list, async () => {
    const [adapters, tasks] = await Promise.all([api('/v1/adapters'), api('/v1/tasks')]);
    const users = (a) => tasks.data.filter((t) => t.adapter === `${a.name}@${a.version}` || t.adapter === a.name)
      .map((t) => t.name);
    return table('Registered adapters', ['Adapter', 'Version', 'Base', 'Rank / alpha', 'Targets', 'Size', 'Source job',
      'Used by', 'Created', ''],
    adapters.data.map((a) => [el('strong', {}, a.name), String(a.version), a.base_model, `${a.rank} / ${a.alpha}`,
      a.target_modules.join(', '), bytes(a.bytes),
      a.source_job ? el('a', { href: `#/jobs/${a.source_job}` }, a.source_job) : 'imported',
      users(a).join(', ') || '—', time(a.created_at), actions(a, tasks.data, () => show(list, out), out)]));
  });
}

function actions(adapter, tasks, changed, out) {
  const ref = `${adapter.name}@${adapter.version}`;
  const download = el('button', { type: 'button' }, 'Download');
  download.addEventListener('click', () => save(ref).catch((e) => out.replaceChildren(errorBox(e))));
  const remove = el('button', { type: 'button', class: 'danger' }, 'Delete');
  remove.addEventListener('click', async () => {
    if (!confirm(`Delete adapter ${ref}? Tasks using it stop answering.`)) return;
    try {
      await api(`/v1/adapters/${encodeURIComponent(ref)}`, { method: 'DELETE' });
      changed();
    } catch (error) {
      out.replaceChildren(errorBox(error));
    }
  });
  const taskSelect = el('select', { 'aria-label': `Task to run on ${ref}` },
    el('option', { value: '' }, 'promote to task…'), tasks.map((t) => el('option', { value: t.name }, t.name)));
  taskSelect.addEventListener('change', async () => {
    const task = taskSelect.value;
    if (!task || !confirm(`Run task ${task} on ${ref}?`)) return;
    try {
      await api(`/v1/tasks/${encodeURIComponent(task)}`, { method: 'PATCH', json: { adapter: ref } });
      changed();
    } catch (error) {
      out.replaceChildren(errorBox(error));
    }
  });
  return el('span', { class: 'actions' }, download, tasks.length ? taskSelect : null, remove);
}

// a plain link could not send the key header: fetch the zip and hand the browser a blob of it
async function save(ref) {
  const headers = apiKey.get() ? { Authorization: 'Bearer ' + apiKey.get() } : {};
  const response = await fetch(`/v1/adapters/${encodeURIComponent(ref)}/content`, { headers });
  if (!response.ok) {
    throw new Error((await response.json().catch(() => ({}))).error?.message || response.statusText);
  }
  const url = URL.createObjectURL(await response.blob());
  const link = el('a', { href: url, download: `${ref.replace(/[^A-Za-z0-9_.@-]/g, '_')}.zip` });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
