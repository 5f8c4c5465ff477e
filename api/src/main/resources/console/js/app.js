// The console's router: `#/page/arg` picks a page module; each page renders into <main> and may return
// a function that stops its live work (streams, timers) when the user leaves it.
import { apiKey } from './api.js';
import * as tasks from './pages/tasks.js';
import * as data from './pages/data.js';
import * as jobs from './pages/jobs.js';
import * as adapters from './pages/adapters.js';
import * as playground from './pages/playground.js';
import * as serving from './pages/serving.js';

const pages = { tasks, data, jobs, adapters, playground, serving };
const view = document.getElementById('view');
let stop = null;

async function route() {
  const [name, ...args] = (location.hash.replace(/^#\/?/, '') || 'tasks').split('/');
  const page = pages[name] || tasks;
  if (stop) {
    stop();
    stop = null;
  }
  for (const link of document.querySelectorAll('nav a[data-page]')) {
    link.toggleAttribute('aria-current', link.dataset.page === name);
  }
  view.replaceChildren();
  view.dataset.page = name;
  stop = (await page.render(view, args.map(decodeURIComponent))) || null;
}

const keyInput = document.getElementById('api-key');
keyInput.value = apiKey.get();
document.getElementById('key-form').addEventListener('submit', (e) => {
  e.preventDefault();
  apiKey.set(keyInput.value.trim());
  route();
});
document.getElementById('key-forget').addEventListener('click', () => {
  keyInput.value = '';
  apiKey.set('');
  route();
});

window.addEventListener('hashchange', route);
route();
