// Calls the Quiver API with the key kept in sessionStorage. The key travels only in the Authorization
// header: never in a URL (logs, history) nor a cookie (sent by the browser on other sites' requests).
const KEY = 'quiver.apiKey';

export const apiKey = {
  get: () => sessionStorage.getItem(KEY) || '',
  set: (key) => (key ? sessionStorage.setItem(KEY, key) : sessionStorage.removeItem(KEY)),
};

/** An API error: the message of OpenAI's error object, with the HTTP status and the offending field. */
export class ApiError extends Error {
  constructor(status, message, param) {
    super(message);
    this.status = status;
    this.param = param;
  }
}

function headers(extra = {}) {
  const h = { ...extra };
  const key = apiKey.get();
  if (key) {
    h.Authorization = 'Bearer ' + key;
  }
  return h;
}

async function failure(response) {
  let message = `${response.status} ${response.statusText}`;
  let param = null;
  try {
    const body = await response.json();
    if (body && body.error) {
      message = body.error.message || message;
      param = body.error.param || null;
    }
  } catch (ignored) {
    // not JSON: keep the status line
  }
  return new ApiError(response.status, message, param);
}

/** Sends a request; `json` is sent as the JSON body, `form` as multipart. Resolves to the parsed answer. */
export async function api(path, { method = 'GET', json, form, text = false } = {}) {
  const init = { method, headers: headers() };
  if (json !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(json);
  } else if (form) {
    init.body = form;
  }
  const response = await fetch(path, init);
  if (!response.ok) {
    throw await failure(response);
  }
  return text ? response.text() : response.json();
}

/**
 * Reads server-sent events from a GET or POST. EventSource cannot send an Authorization header, so the
 * stream is read with fetch; `onEvent` gets each event's parsed data. Resolves when the stream ends.
 */
export async function streamEvents(path, { method = 'GET', json, signal, onEvent }) {
  const init = { method, headers: headers({ Accept: 'text/event-stream' }), signal };
  if (json !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(json);
  }
  const response = await fetch(path, init);
  if (!response.ok) {
    throw await failure(response);
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) {
      return;
    }
    buffer += value.replace(/\r\n/g, '\n');
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = block.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart())
        .join('\n');
      if (data && data !== '[DONE]') {
        onEvent(JSON.parse(data));
      }
    }
  }
}
