// Small DOM helpers. Text always goes in as text nodes, so API data can never inject markup.

/** Creates an element: `el('button', {type: 'submit', onclick: f}, 'Save')`. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) {
      continue;
    }
    if (name.startsWith('on')) {
      node.addEventListener(name.slice(2), value);
    } else if (name === 'dataset') {
      Object.assign(node.dataset, value);
    } else {
      node.setAttribute(name, value === true ? '' : value);
    }
  }
  node.append(...children.flat().filter((c) => c !== undefined && c !== null && c !== false));
  return node;
}

/** A labelled form field; `input` is the control, whose id the label points at. */
export function field(label, input, hint) {
  return el('div', { class: 'field' }, el('label', { for: input.id }, label), input,
    hint ? el('small', {}, hint) : null);
}

/** A table from rows of cells; `caption` names it for screen readers. */
export function table(caption, head, rows) {
  return el('table', {},
    el('caption', {}, caption),
    el('thead', {}, el('tr', {}, head.map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, rows.length ? rows.map((r) => el('tr', {}, r.map((c) => el('td', {}, c))))
      : el('tr', {}, el('td', { colspan: head.length, class: 'empty' }, 'None yet.'))));
}

/** An error box showing the API's message (and the field it names). */
export function errorBox(error) {
  const where = error.param ? ` (${error.param})` : '';
  return el('div', { class: 'error', role: 'alert' }, el('pre', {}, error.message + where));
}

/** Replaces a container's content with the result of `render`, or with the error it throws. */
export async function fill(container, render) {
  try {
    container.replaceChildren(await render());
  } catch (e) {
    container.replaceChildren(errorBox(e));
  }
}

export const time = (epochSeconds) => (epochSeconds ? new Date(epochSeconds * 1000).toLocaleString() : '');

export function bytes(n) {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i ? n.toFixed(1) : n} ${units[i]}`;
}
