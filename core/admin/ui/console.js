// Operator console: a small hash-routed page over the admin API. Every value from the server is put in
// the page with textContent (never as HTML): dead-letter reasons and raw messages are untrusted text.

const view = document.getElementById('view');
const statusLine = document.getElementById('status');
let refreshTimer;

class ApiError extends Error {
  constructor(status, body) {
    super(body?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.code;
  }
}

async function api(method, path, body) {
  const init = { method, credentials: 'same-origin', headers: { accept: 'application/json', 'x-cdr-console': '1' } };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  if (response.status === 401) {
    location.href = `/admin/login?next=${encodeURIComponent('/admin/ui')}`;
    throw new ApiError(401, { message: 'signed out' });
  }
  const json = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(response.status, json);
  return json;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else if (key === 'className') node.className = value;
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const fmtTime = (iso) => (iso ? new Date(iso).toLocaleString() : '—');
const fmtAge = (seconds) => (seconds >= 3600 ? `${Math.round(seconds / 360) / 10} h` : seconds >= 60 ? `${Math.round(seconds / 6) / 10} min` : `${Math.round(seconds)} s`);
const stateBadge = (state) => el('span', { className: `state state-${state}`, 'data-state': state }, state);

function table(headers, rows, attrs = {}) {
  return el('table', attrs, el('thead', {}, el('tr', {}, headers.map((h) => el('th', {}, h)))), el('tbody', {}, rows));
}

function setStatus(text) {
  statusLine.textContent = text ?? '';
}

function render(...nodes) {
  view.replaceChildren(...nodes);
}

function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== null && value !== '') search.set(key, value);
  const text = search.toString();
  return text ? `?${text}` : '';
}

function hashParams() {
  const [, q = ''] = location.hash.split('?');
  return Object.fromEntries(new URLSearchParams(q));
}

// ---- overview ----------------------------------------------------------------------------------
async function showOverview() {
  const data = await api('GET', '/admin/overview');
  const alerts = data.alerts.filter((a) => a.firing);
  const alertBox = el('section', { id: 'alerts' }, el('h2', {}, `Alerts (${alerts.length} firing)`),
    alerts.length === 0
      ? el('p', { className: 'muted' }, 'No alert is firing.')
      : alerts.map((a) => el('div', { className: `alert firing ${a.severity}`, 'data-alert': a.name },
        el('strong', {}, a.name), ' ', a.labels.ente ? `[${a.labels.ente}${a.labels.plugin ? ` / ${a.labels.plugin}` : ''}] ` : '', a.message, el('span', { className: 'muted' }, ` — since ${fmtTime(a.since)}`))));
  const q = data.queue;
  const queueBox = el('section', { className: 'card', id: 'queue' }, el('h2', {}, 'Queue "process"'),
    q
      ? [
        el('p', {}, `waiting ${q.waiting} · active ${q.active} · delayed ${q.delayed} · failed ${q.failed} · ${q.isPaused ? 'PAUSED' : 'running'} · oldest waiting job ${fmtAge(q.oldestWaitingSeconds)}`),
        el('button', { id: q.isPaused ? 'queue-resume' : 'queue-pause', className: 'secondary', onclick: async () => {
          await act(() => api('POST', `/admin/queues/process/${q.isPaused ? 'resume' : 'pause'}`), q.isPaused ? 'queue resumed' : 'queue paused');
          route();
        } }, q.isPaused ? 'Resume queue' : 'Pause queue'),
        el('a', { href: '/admin/board' }, 'Open the queue board'),
      ]
      : el('p', {}, 'no queue connection'));
  const rows = data.rows.map((r) => el('tr', { 'data-ente': r.ente, 'data-plugin': r.plugin },
    el('td', {}, `${r.ente} ${r.enteName}`), el('td', {}, r.plugin),
    el('td', { className: 'num', 'data-col': 'received' }, r.received), el('td', { className: 'num', 'data-col': 'stored' }, r.stored),
    el('td', { className: 'num' }, r.inFlight), el('td', { className: 'num', 'data-col': 'dead-lettered' }, r.deadLettered),
    el('td', { className: 'num' }, r.openDeadLetters > 0
      ? el('a', { href: `#/dead-letters${query({ plugin: r.plugin, ente: r.ente })}`, 'data-col': 'open-dlq' }, r.openDeadLetters)
      : '0')));
  render(
    alertBox, queueBox,
    el('h2', {}, 'Last hour per Ente and plugin'),
    table(['Ente', 'Plugin', 'Received', 'Stored', 'In flight', 'Dead-lettered', 'Open dead letters'], rows, { id: 'overview-table' }),
    el('p', { className: 'muted' }, `${data.openDeadLetters} open dead letters in all · updated ${fmtTime(data.generatedAt)}`),
  );
  refreshTimer = setTimeout(() => location.hash.replace(/\?.*/, '') in { '': 1, '#/': 1 } && route(), 5000);
}

async function act(work, done) {
  try {
    setStatus('working…');
    const result = await work();
    setStatus(done);
    return result;
  } catch (error) {
    setStatus(`${error.code ?? 'error'}: ${error.message}`);
    throw error;
  }
}

// ---- dead letters ------------------------------------------------------------------------------
async function showDeadLetters() {
  const params = hashParams();
  const filter = { plugin: params.plugin, ente: params.ente, stage: params.stage, code: params.code };
  const page = await api('GET', `/admin/dead-letters${query({ ...filter, cursor: params.cursor, limit: 50 })}`);
  const input = (name, placeholder) => el('label', {}, name, el('input', { name, value: params[name] ?? '', placeholder }));
  const form = el('form', { className: 'filters', onsubmit: (event) => {
    event.preventDefault();
    const data = Object.fromEntries(new FormData(event.target));
    location.hash = `#/dead-letters${query(data)}`;
  } }, input('plugin', 'plugin id'), input('ente', 'Ente'), input('stage', 'map, validate…'), input('code', 'error code'), el('button', { type: 'submit' }, 'Filter'));
  const report = el('div', { id: 'dry-run-report' });
  const body = { ...Object.fromEntries(Object.entries(filter).filter(([, v]) => v)) };
  const actions = el('div', {},
    el('button', { id: 'dry-run', className: 'secondary', onclick: async () => {
      const result = await act(() => api('POST', '/admin/dead-letters/dry-run', body), 'dry run done: nothing was written');
      report.replaceChildren(
        el('p', { id: 'dry-run-summary' }, `${result.examined} examined: ${result.wouldStore} would now be stored, ${result.stillFail} still fail${result.truncated ? ' (more remain: run again)' : ''}.`),
        result.failures.length ? table(['Stage', 'Code', 'Count', 'Example'], result.failures.map((g) => el('tr', {}, el('td', {}, g.stage), el('td', {}, g.code), el('td', { className: 'num' }, g.count), el('td', {}, g.example)))) : '',
      );
    } }, 'Dry run with the current plugin'),
    el('button', { id: 'replay-passing', onclick: async () => {
      const result = await act(() => api('POST', '/admin/dead-letters/replay', { ...body, onlyPassing: true }), 'replayed');
      setStatus(`replayed ${result.replayed}; ${result.stillFail ?? 0} still fail and stay open`);
      setTimeout(route, 1000);
    } }, 'Replay those that pass'));
  const rows = page.items.map((d) => el('tr', { 'data-dead-letter': d.id },
    el('td', {}, fmtTime(d.createdAt)), el('td', {}, d.ente), el('td', {}, d.pluginId), el('td', {}, d.stage), el('td', {}, d.code),
    el('td', {}, el('a', { href: `#/dead-letters/${d.id}`, className: 'open-dead-letter' }, d.reason.length > 140 ? `${d.reason.slice(0, 140)}…` : d.reason))));
  render(
    el('h2', {}, 'Open dead letters'), form, actions, report,
    page.items.length ? table(['Created', 'Ente', 'Plugin', 'Stage', 'Code', 'Reason'], rows, { id: 'dead-letter-table' }) : el('p', { id: 'no-dead-letters' }, 'No open dead letter matches.'),
    page.next ? el('a', { href: `#/dead-letters${query({ ...filter, cursor: page.next })}` }, 'Next page →') : '',
  );
}

async function showDeadLetter(id) {
  const d = await api('GET', `/admin/dead-letters/${encodeURIComponent(id)}`);
  const open = d.status === 'open';
  render(
    el('h2', {}, `Dead letter ${d.id}`),
    el('dl', { id: 'dead-letter-detail' },
      el('dt', {}, 'Message'), el('dd', {}, el('a', { href: `#/messages/${d.messageId}` }, d.messageId)),
      el('dt', {}, 'Ente / plugin'), el('dd', {}, `${d.ente} / ${d.pluginId}`),
      el('dt', {}, 'Stage / code'), el('dd', {}, `${d.stage} / ${d.code}`),
      el('dt', {}, 'Reason'), el('dd', { id: 'dead-letter-reason' }, d.reason),
      el('dt', {}, 'Attempts'), el('dd', {}, d.attempts),
      el('dt', {}, 'Mapping version'), el('dd', {}, d.mappingVersion ?? '—'),
      el('dt', {}, 'Status'), el('dd', { id: 'dead-letter-status' }, d.status),
      el('dt', {}, 'Message type / control id'), el('dd', {}, `${d.messageType ?? '—'} / ${d.controlId ?? '—'}`)),
    el('div', {},
      el('button', { id: 'replay', disabled: !open, onclick: async () => {
        const result = await act(() => api('POST', `/admin/dead-letters/${d.id}/replay`), 'replay queued');
        location.hash = `#/messages/${result.messageId}`;
      } }, 'Replay with the current plugin'),
      el('button', { id: 'discard', className: 'secondary', disabled: !open, onclick: async () => {
        const reason = prompt('Why discard it? (kept in the audit log)');
        if (reason === null) return;
        await act(() => api('DELETE', `/admin/dead-letters/${d.id}${query({ reason })}`), 'discarded');
        route();
      } }, 'Discard')),
    el('h2', {}, 'Raw message'), el('pre', { id: 'raw' }, d.raw.text.replace(/\r/g, '\n')),
    el('h2', {}, 'Trail'), trailTable(d.stages),
  );
}

function trailTable(stages) {
  return table(['Stage', 'At', 'OK', 'ms', 'Error / warnings'], stages.map((s) => el('tr', {},
    el('td', {}, s.stage), el('td', {}, fmtTime(s.at)), el('td', {}, s.ok ? '✓' : '✗'), el('td', { className: 'num' }, s.ms ?? ''),
    el('td', {}, s.error ? `${s.error.code}: ${s.error.message}` : (s.warnings ?? []).join('; ')))), { id: 'trail' });
}

// ---- messages ----------------------------------------------------------------------------------
async function showMessage(id) {
  const m = await api('GET', `/messages/${encodeURIComponent(id)}`);
  const final = m.state === 'stored' || m.state === 'dead-lettered';
  const preview = el('div', { id: 'reprocess-preview' });
  render(
    el('h2', {}, `Message ${m.messageId}`),
    el('p', {}, 'State: ', stateBadge(m.state), final ? '' : el('span', { className: 'muted' }, ' (refreshing…)')),
    el('dl', {},
      el('dt', {}, 'Ente / plugin'), el('dd', {}, `${m.ente} / ${m.pluginId}`),
      el('dt', {}, 'Received'), el('dd', {}, fmtTime(m.receivedAt)),
      el('dt', {}, 'Type / control id'), el('dd', {}, `${m.messageType ?? '—'} / ${m.controlId ?? '—'}`),
      el('dt', {}, 'Attempts'), el('dd', {}, m.attempts)),
    m.deadLetter ? el('p', {}, 'Dead letter: ', el('a', { href: `#/dead-letters/${m.deadLetter.id}` }, `${m.deadLetter.stage}/${m.deadLetter.code}: ${m.deadLetter.reason}`)) : '',
    el('h2', {}, 'Trail'), trailTable(m.stages),
    el('h2', {}, 'Resources'),
    m.resources.length ? table(['Type', 'Id', 'Version', 'Outcome'], m.resources.map((r) => el('tr', {}, el('td', {}, r.resourceType), el('td', {}, r.id), el('td', {}, r.versionId), el('td', {}, r.outcome ?? '')))) : el('p', { className: 'muted' }, 'none'),
    m.state === 'stored'
      ? el('button', { id: 'preview-reprocess', className: 'secondary', onclick: () => showPreview(m.messageId, preview) }, 'Preview re-process with the current plugin')
      : '',
    preview,
  );
  if (!final) refreshTimer = setTimeout(route, 1000);
}

async function showPreview(messageId, box) {
  const p = await act(() => api('GET', `/admin/messages/${messageId}/reprocess-preview`), 'preview ready: nothing was written');
  if (!p.ok) {
    box.replaceChildren(el('p', {}, `The current plugin would fail: ${p.error.stage}/${p.error.code}: ${p.error.message}`));
    return;
  }
  const changes = p.resources.filter((r) => r.change !== 'unchanged');
  box.replaceChildren(
    el('p', {}, `${changes.length} of ${p.resources.length} resources would change.`),
    ...p.resources.map((r) => el('div', { className: 'card' },
      el('strong', {}, `${r.resourceType}/${r.id}`), ` — ${r.change}${r.currentVersionId ? ` (current version ${r.currentVersionId})` : ''}`,
      r.diff.length ? el('pre', {}, r.diff.map((c) => `${c.op === 'add' ? '+' : c.op === 'remove' ? '-' : '~'} ${c.path}: ${c.op === 'add' ? JSON.stringify(c.after) : c.op === 'remove' ? JSON.stringify(c.before) : `${JSON.stringify(c.before)} → ${JSON.stringify(c.after)}`}`).join('\n')) : '')),
    p.notProducedAnymore.length ? el('p', {}, `No longer produced (kept as they are): ${p.notProducedAnymore.map((r) => `${r.resourceType}/${r.id}`).join(', ')}`) : '',
    changes.length
      ? el('button', { id: 'apply-reprocess', onclick: async () => {
        await act(() => api('POST', `/admin/messages/${messageId}/reprocess`, { producerHash: p.producerHash ?? undefined }), 're-process queued');
        route();
      } }, 'Apply: re-process this message')
      : el('p', { className: 'muted' }, 'Nothing to apply.'),
  );
}

async function showMessageSearch() {
  const params = hashParams();
  const fields = ['plugin', 'ente', 'state', 'since', 'until', 'controlId', 'documentId', 'patientIdentifier'];
  const form = el('form', { className: 'filters', id: 'message-search', onsubmit: (event) => {
    event.preventDefault();
    location.hash = `#/messages${query(Object.fromEntries(new FormData(event.target)))}`;
  } }, fields.map((name) => el('label', {}, name, name === 'state'
    ? el('select', { name }, ['', 'received', 'processing', 'stored', 'dead-lettered'].map((s) => el('option', { value: s, selected: params.state === s }, s || 'any')))
    : el('input', { name, value: params[name] ?? '', placeholder: name === 'patientIdentifier' ? 'system|value' : name === 'since' || name === 'until' ? '2024-03-11T00:00:00Z' : '' }))),
  el('button', { type: 'submit' }, 'Search'));
  const searched = fields.some((f) => params[f]) || params.all;
  if (!searched) {
    render(el('h2', {}, 'Find a message'), form, el('a', { href: '#/messages?all=1' }, 'or list the latest messages'));
    return;
  }
  const filter = Object.fromEntries(fields.map((f) => [f, params[f]]));
  const page = await api('GET', `/admin/messages${query({ ...filter, cursor: params.cursor, limit: 50 })}`);
  render(
    el('h2', {}, 'Find a message'), form,
    table(['Received', 'Ente', 'Plugin', 'Type', 'Control id', 'State'], page.items.map((m) => el('tr', {},
      el('td', {}, el('a', { href: `#/messages/${m.messageId}` }, fmtTime(m.receivedAt))), el('td', {}, m.ente), el('td', {}, m.pluginId),
      el('td', {}, m.messageType ?? ''), el('td', {}, m.controlId ?? ''), el('td', {}, stateBadge(m.state)))), { id: 'message-results' }),
    page.next ? el('a', { href: `#/messages${query({ ...filter, all: params.all, cursor: page.next })}` }, 'Next page →') : '',
  );
}

// ---- plugins and partitions --------------------------------------------------------------------
async function showPlugins() {
  const data = await api('GET', '/admin/plugins');
  render(
    el('h2', {}, 'Plugins'),
    el('button', { id: 'reload-plugins', onclick: async () => {
      const result = await act(() => api('POST', '/admin/plugins/reload'), 'plugins reloaded');
      setStatus(`plugins reloaded; changed: ${result.changed.join(', ') || 'none'}; other processes notified: ${result.notifiedProcesses}`);
      setTimeout(route, 500);
    } }, 'Reload plugins and mappings from disk'),
    table(['Id', 'Status', 'Ente', 'Format', 'Version', 'Routes', 'Errors'], data.items.map((p) => el('tr', { 'data-plugin': p.id },
      el('td', {}, p.id), el('td', {}, p.status), el('td', {}, p.ente ?? ''), el('td', {}, p.format ?? ''), el('td', {}, p.version ?? ''),
      el('td', {}, p.routes.map((r) => `${r.match} → ${r.mapping}`).join('; ')),
      el('td', {}, p.errors.map((e) => `${e.file}${e.field ? ` (${e.field})` : ''}: ${e.message}`).join('; '))))),
  );
}

async function showPartitions() {
  const data = await api('GET', '/admin/partitions');
  render(
    el('h2', {}, 'Partitions per Ente'),
    table(['Ente', 'Resources by type', 'History versions', 'Inbox messages', 'Size', 'Last write'], data.items.map((p) => el('tr', {},
      el('td', {}, `${p.code} ${p.name}`), el('td', {}, Object.entries(p.resources).map(([t, n]) => `${t}: ${n}`).join(', ') || '—'),
      el('td', { className: 'num' }, p.historyCount), el('td', { className: 'num' }, p.inboxCount),
      el('td', { className: 'num' }, `${Math.round(p.bytes / 1024)} KiB${p.partitions.some((x) => x.kind === 'foreign') ? ' + remote' : ''}`), el('td', {}, fmtTime(p.lastWrite))))),
  );
}

// ---- routing -----------------------------------------------------------------------------------
async function route() {
  clearTimeout(refreshTimer);
  const path = location.hash.replace(/^#/, '').split('?')[0] || '/';
  try {
    let match;
    if (path === '/') await showOverview();
    else if (path === '/dead-letters') await showDeadLetters();
    else if ((match = /^\/dead-letters\/([0-9a-f-]+)$/i.exec(path))) await showDeadLetter(match[1]);
    else if (path === '/messages') await showMessageSearch();
    else if ((match = /^\/messages\/([0-9a-f-]+)$/i.exec(path))) await showMessage(match[1]);
    else if (path === '/plugins') await showPlugins();
    else if (path === '/partitions') await showPartitions();
    else render(el('p', {}, 'Unknown page.'));
  } catch (error) {
    if (error.status !== 401) render(el('p', { className: 'error', id: 'error' }, `${error.code ?? 'error'}: ${error.message}`));
  }
}

window.addEventListener('hashchange', () => {
  setStatus('');
  route();
});
route();
