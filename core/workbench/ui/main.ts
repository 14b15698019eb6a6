/**
 * The workbench page (bundled by build.ts into workbench.bundle.js; no CDN). It talks to /workbench/api
 * with the bearer token kept in sessionStorage (or the console session cookie).
 */
import { defaultKeymap, history, historyKeymap } from '@codemirror/commands';
import { bracketMatching, defaultHighlightStyle, StreamLanguage, syntaxHighlighting, type StringStream } from '@codemirror/language';
import { EditorSelection, EditorState } from '@codemirror/state';
import { drawSelection, EditorView, highlightActiveLine, keymap, lineNumbers } from '@codemirror/view';
import { hl7Names, jsonataPath, jsonPointer, type PathKey } from '../paths.ts';

interface RouteInfo { match: string; mapping: string | undefined; mappingHash: string }
interface PluginInfo { id: string; name?: string; format?: string; status: string; errors: string[]; routes: RouteInfo[]; samples: string[] }
interface EvalError { stage: string; code: string; message: string; line?: number; column?: number }
interface Issue { resource: string; severity: string; path: string; message: string; pointer: string }
interface Leaf { name: string; field: string; jsonata: string; read: boolean }
interface Coverage { leaves: Leaf[]; fields: Array<{ name: string; present: number; read: number }>; totals: { leaves: number; read: number; fields: number; fieldsRead: number } }
interface Evaluation { ok: boolean; routeKey?: string; route?: { match: string; mapping: string }; notices: string[]; engine?: string; tree?: unknown; bundle?: unknown; errors: EvalError[]; issues: Issue[]; warnings: string[]; coverage?: Coverage; ms: number }
interface CoverageRow { name: string; level: string; presentIn: number; mappedIn: number; presentPercent: number; mappedPercent: number }

const TOKEN_KEY = 'cdr-workbench-token';
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

// ---------------------------------------------------------------------------- JSONata highlighting

const jsonataLanguage = StreamLanguage.define<{ comment: boolean }>({
  name: 'jsonata',
  startState: () => ({ comment: false }),
  token(stream: StringStream, state) {
    if (state.comment) {
      if (stream.skipTo('*/')) {
        stream.pos += 2;
        state.comment = false;
      } else stream.skipToEnd();
      return 'comment';
    }
    if (stream.eatSpace()) return null;
    if (stream.match('/*')) {
      state.comment = true;
      return 'comment';
    }
    if (stream.match(/^"(?:[^"\\]|\\.)*"?/) || stream.match(/^'(?:[^'\\]|\\.)*'?/)) return 'string';
    if (stream.match(/^`[^`]*`?/)) return 'propertyName';
    if (stream.match(/^\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/)) return 'number';
    if (stream.match(/^\$[A-Za-z0-9_]*/)) return 'variableName';
    if (stream.match(/^(?:function|and|or|in|true|false|null)\b/)) return 'keyword';
    if (stream.match(/^[A-Za-z_][A-Za-z0-9_]*/)) return 'propertyName';
    if (stream.match(/^(?::=|!=|<=|>=|~>|\?:|\?\?|\.\.|[-+*/%&=<>?:.!^|#@~])/)) return 'operator';
    stream.next();
    return null;
  },
  languageData: { commentTokens: { block: { open: '/*', close: '*/' } } },
});

// ---------------------------------------------------------------------------- state

const state = {
  token: sessionStorage.getItem(TOKEN_KEY) ?? '',
  plugins: [] as PluginInfo[],
  plugin: undefined as PluginInfo | undefined,
  mappingPath: undefined as string | undefined,
  mappingHash: undefined as string | undefined,
  sequence: 0,
  timer: undefined as number | undefined,
};

function setStatus(text: string): void {
  $('status').textContent = text;
}

class ApiError extends Error {
  constructor(readonly status: number, message: string, readonly body: Record<string, unknown>) {
    super(message);
  }
}

async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { 'x-cdr-console': '1' };
  if (state.token) headers.authorization = `Bearer ${state.token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`/workbench/api${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' });
  const json = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (!response.ok) {
    if (response.status === 401 || response.status === 403) $('token').focus();
    throw new ApiError(response.status, `${response.status} ${String(json.code ?? '')}: ${String(json.message ?? response.statusText)}`, json);
  }
  return json as T;
}

// ---------------------------------------------------------------------------- editor

const editor = new EditorView({
  parent: $('editor'),
  state: EditorState.create({
    doc: '',
    extensions: [
      lineNumbers(), history(), drawSelection(), highlightActiveLine(), bracketMatching(),
      keymap.of([...defaultKeymap, ...historyKeymap]),
      jsonataLanguage, syntaxHighlighting(defaultHighlightStyle), EditorView.lineWrapping,
      EditorView.cspNonce.of(document.querySelector<HTMLMetaElement>('meta[name=csp-nonce]')?.content ?? ''),
      EditorView.updateListener.of((update) => {
        if (update.docChanged) scheduleEvaluation();
      }),
    ],
  }),
});
// For the browser test and for scripting the page: the editor's text.
(window as unknown as { workbenchEditor: EditorView }).workbenchEditor = editor;

function setEditorText(text: string): void {
  editor.dispatch({ changes: { from: 0, to: editor.state.doc.length, insert: text } });
}

function goToLine(line: number, column: number): void {
  const doc = editor.state.doc;
  const target = doc.line(Math.min(Math.max(line, 1), doc.lines));
  const position = Math.min(target.from + Math.max(column - 1, 0), target.to);
  editor.dispatch({ selection: EditorSelection.cursor(position), scrollIntoView: true });
  editor.focus();
}

// ---------------------------------------------------------------------------- rendering

function element<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, className?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function renderTree(tree: unknown, coverage: Coverage | undefined): void {
  const container = $('tree');
  container.replaceChildren();
  if (tree === undefined) return;
  const read = new Map((coverage?.leaves ?? []).map((l) => [l.jsonata, l.read]));
  const isHl7 = state.plugin?.format === 'hl7v2';
  const build = (node: unknown, keys: PathKey[], depth: number): HTMLElement[] => {
    const entries: Array<[PathKey, unknown]> = Array.isArray(node) ? node.map((v, i) => [i, v]) : Object.entries(node as Record<string, unknown>);
    return entries
      .filter(([key]) => !(isHl7 && keys.length === 0 && key === '_segments'))
      .map(([key, value]) => {
        const path = [...keys, key];
        const expression = jsonataPath(path);
        const hl7 = isHl7 ? hl7Names(path) : undefined;
        const label = `${String(key)}${hl7 && typeof key === 'string' && /^F\d+$/.test(key) ? ` (${hl7.field})` : ''}`;
        if (value !== null && typeof value === 'object') {
          const details = element('details');
          // HL7 messages are small: open down to the components. XML documents can be large: the first levels only.
          details.open = depth < (isHl7 ? 4 : 2) && !(keys.length === 0 && key === '_meta');
          const summary = element('summary', label);
          summary.title = expression;
          details.append(summary, ...build(value, path, depth + 1));
          return details;
        }
        const leaf = element('div', `${label}: ${String(value)}`, 'leaf');
        leaf.title = expression;
        leaf.dataset.path = expression;
        const wasRead = read.get(expression);
        if (wasRead !== undefined) leaf.classList.add(wasRead ? 'read' : 'unread');
        return leaf;
      });
  };
  container.append(...build(tree, [], 0));
}

function renderJson(value: unknown): void {
  const container = $('output');
  container.replaceChildren();
  const lines: HTMLElement[] = [];
  const line = (text: string, keys: PathKey[]) => {
    const div = element('div', text, 'line');
    div.dataset.pointer = jsonPointer(keys);
    lines.push(div);
  };
  const walk = (node: unknown, keys: PathKey[], indent: string, prefix: string, comma: string) => {
    if (node !== null && typeof node === 'object') {
      const isArray = Array.isArray(node);
      const entries: Array<[PathKey, unknown]> = isArray ? (node as unknown[]).map((v, i) => [i, v]) : Object.entries(node as Record<string, unknown>);
      if (entries.length === 0) return line(`${indent}${prefix}${isArray ? '[]' : '{}'}${comma}`, keys);
      line(`${indent}${prefix}${isArray ? '[' : '{'}`, keys);
      entries.forEach(([key, child], index) => {
        walk(child, [...keys, key], `${indent}  `, isArray ? '' : `${JSON.stringify(key)}: `, index < entries.length - 1 ? ',' : '');
      });
      line(`${indent}${isArray ? ']' : '}'}${comma}`, keys);
      return;
    }
    line(`${indent}${prefix}${JSON.stringify(node)}${comma}`, keys);
  };
  if (value !== undefined) walk(value, [], '', '', '');
  container.append(...lines);
}

function highlightOutput(pointer: string): void {
  let first: HTMLElement | undefined;
  for (const line of $('output').querySelectorAll<HTMLElement>('.line')) {
    const hit = line.dataset.pointer === pointer || (pointer !== '' && line.dataset.pointer!.startsWith(`${pointer}/`));
    line.classList.toggle('highlight', hit);
    if (hit && !first) first = line;
  }
  first?.scrollIntoView({ block: 'center' });
}

function renderErrors(errors: EvalError[], notices: string[]): void {
  const noticeItem = notices.map((notice) => element('li', notice, 'warning'));
  $('errors').replaceChildren(...noticeItem, ...errors.map((e) => {
    const where = e.line !== undefined ? `line ${e.line}, column ${e.column ?? 1}: ` : '';
    const li = element('li', `${where}[${e.stage}] ${e.code}: ${e.message}`, 'error');
    if (e.line !== undefined) {
      li.dataset.line = String(e.line);
      li.dataset.column = String(e.column ?? 1);
      li.addEventListener('click', () => goToLine(e.line!, e.column ?? 1));
    }
    return li;
  }));
}

function renderIssues(issues: Issue[]): void {
  $('issues').replaceChildren(...issues.map((issue) => {
    const li = element('li', `${issue.severity}: ${issue.resource} ${issue.path} — ${issue.message}`, issue.severity);
    li.dataset.pointer = issue.pointer;
    li.addEventListener('click', () => highlightOutput(issue.pointer));
    return li;
  }));
}

function renderCoverageRows(rows: Array<{ name: string; present: string; mapped: string; never: boolean }>): void {
  $('coverage').querySelector('tbody')!.replaceChildren(...rows.map((row) => {
    const tr = element('tr', undefined, row.never ? 'never' : '');
    tr.append(element('td', row.name), element('td', row.present), element('td', row.mapped));
    return tr;
  }));
}

function renderMessageCoverage(coverage: Coverage | undefined): void {
  if (!coverage) {
    $('coverage-summary').textContent = '';
    return renderCoverageRows([]);
  }
  const t = coverage.totals;
  $('coverage-summary').textContent = `this message: ${t.fieldsRead} of ${t.fields} fields read (${t.read} of ${t.leaves} values)`;
  renderCoverageRows(coverage.fields.map((f) => ({ name: f.name, present: `${f.present} value${f.present === 1 ? '' : 's'}`, mapped: `${f.read}`, never: f.read === 0 })));
}

// ---------------------------------------------------------------------------- actions

/** The message as the server should see it: a textarea turns HL7's CR segment separators into LF; put them back. */
function messageText(): string {
  const text = ($('message') as HTMLTextAreaElement).value;
  return state.plugin?.format === 'hl7v2' ? text.replace(/\r?\n/g, '\r') : text;
}

function scheduleEvaluation(): void {
  showingSamplesCoverage = false;
  window.clearTimeout(state.timer);
  state.timer = window.setTimeout(() => void evaluate(), 300);
}

/**
 * The samples table the author asked for stays until the next change (an edit, another message or
 * mapping): evaluations already scheduled or in flight when the button was pressed do not replace it.
 */
let showingSamplesCoverage = false;

async function evaluate(): Promise<void> {
  const message = messageText();
  if (!state.plugin || !message.trim()) return;
  const sequence = ++state.sequence;
  setStatus('evaluating…');
  try {
    const result = await api<Evaluation>('POST', '/evaluate', {
      pluginId: state.plugin.id, message, mapping: editor.state.doc.toString(), ...(state.mappingPath ? { mappingPath: state.mappingPath } : {}), coverage: true,
    });
    if (sequence !== state.sequence) return; // a newer evaluation is on its way
    renderTree(result.tree, result.coverage);
    // A failed run (often a half-typed expression) keeps the last output, greyed, instead of blanking it.
    if (result.bundle !== undefined || !$('output').hasChildNodes()) renderJson(result.bundle);
    $('output').classList.toggle('stale', result.bundle === undefined);
    renderErrors(result.errors, result.notices);
    renderIssues(result.issues);
    if (!showingSamplesCoverage) renderMessageCoverage(result.coverage);
    const errors = result.issues.filter((i) => i.severity === 'error' || i.severity === 'fatal').length;
    $('output-meta').textContent = result.ok ? `${result.routeKey} → ${result.route?.mapping} (${result.engine}, ${result.ms} ms)` : '';
    document.body.dataset.evaluation = String(sequence);
    setStatus(result.ok ? `evaluated: ${errors} validation error${errors === 1 ? '' : 's'}` : 'evaluation failed');
  } catch (error) {
    if (sequence === state.sequence) setStatus((error as Error).message);
  }
}

function fillSelect(select: HTMLSelectElement, options: Array<{ value: string; label: string }>): void {
  select.replaceChildren(...options.map((o) => {
    const option = element('option', o.label);
    option.value = o.value;
    return option;
  }));
}

async function loadMapping(path: string | undefined): Promise<void> {
  state.mappingPath = path;
  $('mapping-path').textContent = path ?? '';
  $('mapping-hash').textContent = '';
  if (!path) return;
  const file = await api<{ path: string; content: string; hash: string }>('GET', `/file?path=${encodeURIComponent(path)}`);
  state.mappingHash = file.hash;
  setEditorText(file.content);
  $('mapping-hash').textContent = `version ${file.hash}`;
}

async function loadSample(path: string | undefined): Promise<void> {
  if (!path) return;
  const file = await api<{ content: string }>('GET', `/file?path=${encodeURIComponent(path)}`);
  ($('message') as HTMLTextAreaElement).value = file.content;
  scheduleEvaluation();
}

async function selectPlugin(id: string): Promise<void> {
  state.plugin = state.plugins.find((p) => p.id === id);
  const plugin = state.plugin;
  if (!plugin) return;
  const mappings = [...new Map(plugin.routes.filter((r) => r.mapping).map((r) => [r.mapping!, r])).values()];
  fillSelect($('route') as HTMLSelectElement, mappings.map((r) => ({ value: r.mapping!, label: `${plugin.routes.filter((x) => x.mapping === r.mapping).map((x) => x.match).join(', ')} → ${r.mapping}` })));
  fillSelect($('sample') as HTMLSelectElement, [{ value: '', label: '(paste or upload)' }, ...plugin.samples.map((s) => ({ value: s, label: s.split('/').pop()! }))]);
  if (plugin.errors.length) setStatus(`plugin ${plugin.id}: ${plugin.errors.join('; ')}`);
  await loadMapping(mappings[0]?.mapping);
  scheduleEvaluation();
}

async function loadPlugins(): Promise<void> {
  try {
    const { plugins } = await api<{ plugins: PluginInfo[] }>('GET', '/plugins');
    state.plugins = plugins;
    fillSelect($('plugin') as HTMLSelectElement, plugins.map((p) => ({ value: p.id, label: `${p.id}${p.status === 'active' ? '' : ` (${p.status})`}` })));
    const first = plugins.find((p) => p.status === 'active') ?? plugins[0];
    if (first) {
      ($('plugin') as HTMLSelectElement).value = first.id;
      await selectPlugin(first.id);
    }
    setStatus(`${plugins.length} plugin${plugins.length === 1 ? '' : 's'}`);
    document.body.dataset.ready = 'true';
  } catch (error) {
    setStatus((error as Error).message);
  }
}

async function saveMapping(): Promise<void> {
  if (!state.mappingPath) return setStatus('choose a mapping first');
  const target = $('mapping-hash');
  try {
    const saved = await api<{ path: string; hash: string }>('PUT', '/mapping', {
      path: state.mappingPath, source: editor.state.doc.toString(), ...(state.mappingHash ? { expectedHash: state.mappingHash } : {}),
    });
    state.mappingHash = saved.hash;
    target.textContent = `saved ${saved.path} · version ${saved.hash}`;
    target.className = 'ok';
  } catch (error) {
    target.textContent = (error as Error).message;
    target.className = 'fail';
  }
}

async function saveGolden(): Promise<void> {
  const target = $('golden-status');
  const name = ($('golden-name') as HTMLInputElement).value.trim();
  if (!state.plugin || !state.mappingPath) return;
  try {
    const saved = await api<{ files: string[]; status: string; problems: string[] }>('POST', '/golden', {
      pluginId: state.plugin.id, mappingPath: state.mappingPath, name, message: messageText(),
    });
    target.textContent = `golden test ${saved.status}: ${saved.files.join(', ')}${saved.problems.length ? ` — ${saved.problems.join('; ')}` : ''}`;
    target.className = saved.status === 'pass' ? 'ok' : 'fail';
  } catch (error) {
    target.textContent = (error as Error).message;
    target.className = 'fail';
  }
}

async function samplesCoverage(): Promise<void> {
  if (!state.plugin) return;
  showingSamplesCoverage = true;
  try {
    const table = await api<{ messages: number; rows: CoverageRow[] }>('POST', '/coverage', {
      pluginId: state.plugin.id, mapping: editor.state.doc.toString(), ...(state.mappingPath ? { mappingPath: state.mappingPath } : {}),
    });
    $('coverage-summary').textContent = `over ${table.messages} sample${table.messages === 1 ? '' : 's'}`;
    renderCoverageRows(table.rows.filter((r) => r.level === 'field').map((r) => ({
      name: r.name, present: `${r.presentPercent} % (${r.presentIn})`, mapped: `${r.mappedPercent} % (${r.mappedIn})`, never: r.mappedIn === 0,
    })));
  } catch (error) {
    setStatus((error as Error).message);
  }
}

// ---------------------------------------------------------------------------- wiring

($('token') as HTMLInputElement).value = state.token;
$('token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  state.token = ($('token') as HTMLInputElement).value.trim();
  sessionStorage.setItem(TOKEN_KEY, state.token);
  void loadPlugins();
});
$('plugin').addEventListener('change', (event) => void selectPlugin((event.target as HTMLSelectElement).value));
$('route').addEventListener('change', (event) => void loadMapping((event.target as HTMLSelectElement).value).then(scheduleEvaluation));
$('sample').addEventListener('change', (event) => void loadSample((event.target as HTMLSelectElement).value));
$('message').addEventListener('input', scheduleEvaluation);
$('upload').addEventListener('change', (event) => {
  const file = (event.target as HTMLInputElement).files?.[0];
  if (!file) return;
  void file.text().then((text) => {
    ($('message') as HTMLTextAreaElement).value = text;
    scheduleEvaluation();
  });
});
$('save-mapping').addEventListener('click', () => void saveMapping());
$('save-golden').addEventListener('click', () => void saveGolden());
$('coverage-samples').addEventListener('click', () => void samplesCoverage());
void loadPlugins();
