/**
 * The OpenAPI 3.1 description of every HTTP route (served at GET /openapi.json). Tests lint it with
 * Redocly and validate real responses against these schemas, so a route whose answer drifts from
 * here fails a test. A new route is added here in the same change.
 */

type Schema = Record<string, unknown>;

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const nullable = (schema: Schema): Schema => ({ oneOf: [schema, { type: 'null' }] });
const str: Schema = { type: 'string' };
const int: Schema = { type: 'integer', minimum: 0 };
const dateTime: Schema = { type: 'string', format: 'date-time' };
const uuid: Schema = { type: 'string', format: 'uuid' };
const obj = (properties: Record<string, Schema>, required: string[] = Object.keys(properties), extra: Schema = {}): Schema => ({
  type: 'object', properties, required, additionalProperties: false, ...extra,
});
const page = (item: string): Schema => obj({ items: { type: 'array', items: ref(item) }, next: nullable(str) });
const list = (item: string): Schema => obj({ items: { type: 'array', items: ref(item) }, next: { type: 'null' } });

const ROLES = ['admin', 'operator', 'author', 'reader'];
const STAGES = ['receive', 'parse', 'route', 'hook', 'map', 'validate', 'store'];
const STATES = ['received', 'processing', 'stored', 'dead-lettered'];

const deadLetterProps: Record<string, Schema> = {
  id: uuid, messageId: uuid, ente: str, pluginId: str, stage: { enum: STAGES }, code: str, reason: str, attempts: int,
  mappingVersion: nullable(str), createdAt: dateTime, status: { enum: ['open', 'replayed', 'discarded'] },
  resolvedAt: nullable(dateTime), resolvedBy: nullable(str),
};
const queueCountProps: Record<string, Schema> = {
  name: str, waiting: int, active: int, delayed: int, completed: int, failed: int, paused: int, isPaused: { type: 'boolean' },
};

/** Body of bulk replay and dry run (inlined in both: extended there). */
const deadLetterFilter: Schema = obj(
  { plugin: str, stage: { enum: STAGES }, code: str, ente: str, since: dateTime, until: dateTime },
  [],
);

const schemas: Record<string, Schema> = {
  Error: obj({ code: str, message: str, details: { type: 'object' } }, ['code', 'message']),
  OperationOutcome: { type: 'object', properties: { resourceType: { const: 'OperationOutcome' }, issue: { type: 'array', items: { type: 'object' } } }, required: ['resourceType', 'issue'] },
  FhirResource: { type: 'object', properties: { resourceType: str, id: str }, required: ['resourceType'] },
  Bundle: { type: 'object', properties: { resourceType: { const: 'Bundle' }, type: str, entry: { type: 'array', items: { type: 'object' } } }, required: ['resourceType', 'type'] },
  Health: obj({ status: { type: 'string', enum: ['ok', 'ready', 'not-ready'] }, checks: obj({ storage: { enum: ['ok', 'down'] }, redis: { enum: ['ok', 'down'] } }) }, ['status']),
  IngestAccepted: obj({ messageId: uuid, duplicate: { type: 'boolean' }, messageIds: { type: 'array', items: uuid, description: 'when the body was a batch: the id of every message it became, in order' } }, ['messageId']),
  TrailEntry: {
    type: 'object',
    properties: {
      stage: str, at: dateTime, ok: { type: 'boolean' }, ms: { type: 'number' },
      error: obj({ stage: str, code: str, message: str }), warnings: { type: 'array', items: str }, info: { type: 'object' },
    },
    required: ['stage', 'at', 'ok'],
    additionalProperties: false,
  },
  WrittenResource: obj({ resourceType: str, id: str, versionId: str, outcome: { enum: ['created', 'updated', 'unchanged', 'out-of-order'] } }, ['resourceType', 'id', 'versionId']),
  MessageTrail: obj(
    {
      messageId: uuid, state: { enum: STATES }, ente: str, pluginId: str, channel: str, receivedAt: dateTime,
      messageType: nullable(str), controlId: nullable(str), attempts: int,
      stages: { type: 'array', items: ref('TrailEntry') }, resources: { type: 'array', items: ref('WrittenResource') },
      deadLetter: obj({ id: uuid, stage: str, code: str, reason: str, status: { enum: ['open', 'replayed', 'discarded'] } }),
    },
    ['messageId', 'state', 'stages', 'resources'],
  ),
  MessageSummary: obj({
    messageId: uuid, ente: str, pluginId: str, channel: str, state: { enum: STATES }, receivedAt: dateTime, updatedAt: dateTime,
    messageType: nullable(str), controlId: nullable(str), attempts: int,
  }),
  MessagePage: page('MessageSummary'),
  QueueCounts: obj(queueCountProps),
  QueueList: list('QueueCounts'),
  DeadLetter: obj(deadLetterProps),
  DeadLetterPage: page('DeadLetter'),
  DeadLetterDetail: obj({
    ...deadLetterProps,
    details: nullable({ type: 'object' }), receivedAt: dateTime, messageType: nullable(str), controlId: nullable(str),
    raw: obj({ base64: { type: 'string', contentEncoding: 'base64' }, text: str, bytes: int, contentType: nullable(str) }),
    stages: { type: 'array', items: ref('TrailEntry') },
  }),
  ReplayResult: obj({ deadLetterId: uuid, messageId: uuid, enqueued: { type: 'boolean' } }),
  DryRunGroup: obj({ stage: str, code: str, count: int, example: str, deadLetterIds: { type: 'array', items: uuid } }),
  BulkReplayResult: obj(
    {
      replayed: int, items: { type: 'array', items: ref('ReplayResult') },
      stillFail: int, failures: { type: 'array', items: ref('DryRunGroup') },
    },
    ['replayed', 'items'],
  ),
  DryRunReport: obj({
    examined: int, wouldStore: int, stillFail: int, truncated: { type: 'boolean' },
    failures: { type: 'array', items: ref('DryRunGroup') },
    items: {
      type: 'array',
      items: obj({ deadLetterId: uuid, messageId: uuid, outcome: { enum: ['would-store', 'still-fails'] }, stage: str, code: str, reason: str }, ['deadLetterId', 'messageId', 'outcome']),
    },
  }),
  Plugin: obj({
    id: str, status: { enum: ['active', 'disabled', 'error'] }, ente: nullable(str), format: nullable(str), version: nullable(str), producerHash: nullable(str),
    routes: { type: 'array', items: obj({ match: str, mapping: str, engine: str, mappingHash: str }) },
    errors: { type: 'array', items: obj({ file: str, field: str, message: str }, ['file', 'message']) },
  }),
  PluginList: list('Plugin'),
  PluginReload: obj({ items: { type: 'array', items: ref('Plugin') }, changed: { type: 'array', items: str }, notifiedProcesses: int }),
  Partition: obj({
    code: str, name: str, type: nullable(str), registeredAt: dateTime,
    partitions: {
      type: 'array',
      items: obj({ table: str, name: str, kind: { enum: ['local', 'foreign'] }, server: nullable(str), bytes: nullable(int) }),
    },
    resources: { type: 'object', additionalProperties: int }, resourceCount: int, historyCount: int, inboxCount: int, bytes: int, lastWrite: nullable(dateTime),
  }),
  PartitionList: list('Partition'),
  Ente: obj({ code: str, name: str, type: nullable(str) }, ['code', 'name']),
  EnteList: list('Ente'),
  EnteRegistration: obj({ code: { type: 'string', pattern: '^[0-9]{6}$' }, name: str, type: str }, ['code', 'name']),
  ReindexResult: obj({ ente: str, indexed: int }),
  DirectoryEntry: obj({ resourceType: str, id: str }, ['resourceType', 'id']),
  DirectoryList: { type: 'object', properties: { items: { type: 'array', items: { type: 'object', additionalProperties: true } }, next: nullable(str) } },
  RetentionReport: obj({
    startedAt: dateTime,
    deleted: { type: 'array', items: obj({ table: { enum: ['inbox', 'resource_history'] }, ente: str, rows: int }) },
  }),
  JsonChange: obj({ op: { enum: ['add', 'remove', 'replace'] }, path: str, before: {}, after: {} }, ['op', 'path']),
  ReprocessPreview: obj(
    {
      messageId: uuid, ente: str, pluginId: str, producerHash: nullable(str), ok: { type: 'boolean' },
      error: obj({ stage: str, code: str, message: str }),
      resources: {
        type: 'array',
        items: obj({ resourceType: str, id: str, change: { enum: ['created', 'updated', 'unchanged', 'out-of-order'] }, currentVersionId: nullable(str), diff: { type: 'array', items: ref('JsonChange') } }),
      },
      notProducedAnymore: { type: 'array', items: obj({ resourceType: str, id: str }) },
    },
    ['messageId', 'ente', 'pluginId', 'producerHash', 'ok', 'resources', 'notProducedAnymore'],
  ),
  ReprocessAccepted: obj({ messageId: uuid, enqueued: { type: 'boolean' } }),
  Alert: obj({
    name: str, severity: { enum: ['warning', 'critical'] }, labels: obj({ ente: str, plugin: str }, []), firing: { type: 'boolean' },
    value: { type: 'number' }, threshold: { type: 'number' }, since: nullable(dateTime), message: str, checkedAt: dateTime,
  }),
  AlertList: list('Alert'),
  Overview: obj({
    generatedAt: dateTime,
    rows: {
      type: 'array',
      items: obj({ ente: str, enteName: str, plugin: str, received: int, stored: int, inFlight: int, deadLettered: int, openDeadLetters: int }),
    },
    queue: nullable(obj({ ...queueCountProps, oldestWaitingSeconds: int })),
    openDeadLetters: int,
    alerts: { type: 'array', items: ref('Alert') },
  }),
};

interface RouteSpec {
  method: 'get' | 'post' | 'delete';
  path: string;
  tag: string;
  summary: string;
  /** Roles beyond reading (any valid token reads); undefined = no token needed. */
  auth?: 'any' | string[];
  params?: Array<{ name: string; in: 'path' | 'query'; schema: Schema; description?: string; required?: boolean }>;
  body?: { contentType: string; schema: Schema; required?: boolean };
  responses: Record<string, { description: string; schema?: Schema; contentType?: string }>;
  description?: string;
}

const idParam = (name: string, description: string) => ({ name, in: 'path' as const, schema: uuid, description, required: true });
const query = (name: string, schema: Schema, description: string) => ({ name, in: 'query' as const, schema, description });
const limitParam = query('limit', { type: 'integer', minimum: 1, maximum: 500, default: 50 }, 'page size');
const cursorParam = query('cursor', str, 'the `next` of the previous page');
const e = (description: string) => ({ description, schema: ref('Error') });
const authErrors = {
  '401': e('no token, or a token that is not valid'),
  '403': e('the role or the Enti of the token do not allow it'),
};

const routes: RouteSpec[] = [
  { method: 'get', path: '/health/live', tag: 'health', summary: 'The process answers', responses: { '200': { description: 'alive', schema: ref('Health') } } },
  {
    method: 'get', path: '/health/ready', tag: 'health', summary: 'Ready when Redis and storage answer',
    responses: { '200': { description: 'ready', schema: ref('Health') }, '503': { description: 'not ready', schema: ref('Health') } },
  },
  {
    method: 'post', path: '/ingest/{pluginId}', tag: 'ingest', summary: 'Accept one raw message (HL7 v2 ER7, CDA XML, XML)',
    description: 'Answers 202 only once the raw bytes are committed to the inbox. A redelivery of the same source message returns the original id with `duplicate: true`.',
    params: [{ name: 'pluginId', in: 'path', schema: str, required: true }],
    body: { contentType: '*/*', schema: { type: 'string', format: 'binary' }, required: true },
    responses: {
      '202': { description: 'accepted', schema: ref('IngestAccepted') },
      '400': e('empty or undecodable body'), '404': e('unknown plugin'), '413': e('too large'), '415': e('unsupported encoding'),
      '503': e('storage unavailable or plugin disabled: nothing accepted'),
    },
  },
  {
    method: 'get', path: '/messages/{messageId}', tag: 'messages', summary: "A message's trail", auth: 'any',
    params: [idParam('messageId', 'the id returned by ingest')],
    responses: { '200': { description: 'the trail', schema: ref('MessageTrail') }, '400': e('not a message id'), '404': e('no such message'), ...authErrors },
  },
  {
    method: 'get', path: '/admin/messages', tag: 'messages', summary: 'Search messages, newest first', auth: 'any',
    description: 'Every filter is indexed. `patientIdentifier` finds stored messages by the identifiers of the Patient they produced.',
    params: [
      query('plugin', str, 'plugin id'), query('ente', str, 'Ente code'), query('state', { enum: STATES }, 'inbox state'),
      query('since', dateTime, 'received at or after'), query('until', dateTime, 'received before'),
      query('controlId', str, 'MSH-10 / source message id, exact'), query('documentId', str, 'CDA/XML document id, exact or prefix'),
      query('patientIdentifier', str, 'system|value'), limitParam, cursorParam,
    ],
    responses: { '200': { description: 'a page', schema: ref('MessagePage') }, '400': e('bad filter or cursor'), ...authErrors },
  },
  {
    method: 'get', path: '/admin/messages/{messageId}/reprocess-preview', tag: 'messages', summary: 'FHIR diff of a re-process, without writing', auth: ['operator', 'author'],
    params: [idParam('messageId', 'a stored message')],
    responses: {
      '200': { description: 'what the current plugin would write, resource by resource', schema: ref('ReprocessPreview') },
      '400': e('not a message id'), '404': e('no such message'), '409': e('the message is not stored'), ...authErrors,
    },
  },
  {
    method: 'post', path: '/admin/messages/{messageId}/reprocess', tag: 'messages', summary: 'Re-process a stored message with the current plugin (audited)', auth: ['operator'],
    params: [idParam('messageId', 'a stored message')],
    body: { contentType: 'application/json', schema: obj({ producerHash: str }, []) },
    responses: {
      '202': { description: 'queued', schema: ref('ReprocessAccepted') }, '400': e('bad id or body'), '404': e('no such message'),
      '409': e('not stored, or the plugin changed since the preview'), ...authErrors,
    },
  },
  {
    method: 'get', path: '/admin/queues', tag: 'queues', summary: 'Job counts per queue', auth: 'any',
    responses: { '200': { description: 'counts', schema: ref('QueueList') }, '503': e('no queue connection'), ...authErrors },
  },
  ...(['pause', 'resume'] as const).map((action): RouteSpec => ({
    method: 'post', path: `/admin/queues/{name}/${action}`, tag: 'queues', summary: `${action === 'pause' ? 'Pause' : 'Resume'} a queue (audited)`, auth: ['operator'],
    description: 'Needs a token for every Ente: the queue carries all of them.',
    params: [{ name: 'name', in: 'path', schema: { enum: ['process'] }, required: true }],
    responses: { '200': { description: 'the counts after the change', schema: ref('QueueCounts') }, '404': e('no such queue'), ...authErrors },
  })),
  {
    method: 'get', path: '/admin/dead-letters', tag: 'dead-letters', summary: 'Dead letters, newest first', auth: 'any',
    params: [
      query('plugin', str, 'plugin id'), query('stage', { enum: STAGES }, 'failing stage'), query('code', str, 'error code'), query('ente', str, 'Ente code'),
      query('since', dateTime, 'created at or after'), query('until', dateTime, 'created before'),
      query('status', { enum: ['open', 'replayed', 'discarded'] }, 'default open'), limitParam, cursorParam,
    ],
    responses: { '200': { description: 'a page', schema: ref('DeadLetterPage') }, '400': e('bad filter or cursor'), ...authErrors },
  },
  {
    method: 'get', path: '/admin/dead-letters/{id}', tag: 'dead-letters', summary: 'One dead letter with its raw message and trail', auth: 'any',
    params: [idParam('id', 'dead-letter id')],
    responses: { '200': { description: 'the dead letter', schema: ref('DeadLetterDetail') }, '400': e('not a dead-letter id'), '404': e('no such dead letter'), ...authErrors },
  },
  {
    method: 'delete', path: '/admin/dead-letters/{id}', tag: 'dead-letters', summary: 'Discard (audited; the raw message stays in the inbox)', auth: ['operator'],
    params: [idParam('id', 'dead-letter id'), query('reason', str, 'why, for the audit record')],
    responses: { '200': { description: 'discarded', schema: ref('DeadLetter') }, '400': e('not a dead-letter id'), '404': e('no such dead letter'), '409': e('not open'), ...authErrors },
  },
  {
    method: 'post', path: '/admin/dead-letters/{id}/replay', tag: 'dead-letters', summary: 'Replay one dead letter with the current plugin (audited)', auth: ['operator'],
    params: [idParam('id', 'dead-letter id')],
    responses: { '202': { description: 'queued', schema: ref('ReplayResult') }, '400': e('not a dead-letter id'), '404': e('no such dead letter'), '409': e('not open'), ...authErrors },
  },
  {
    method: 'post', path: '/admin/dead-letters/replay', tag: 'dead-letters', summary: 'Replay every open dead letter matching a filter (audited)', auth: ['operator'],
    description: 'With `onlyPassing: true` a dry run selects the ones the current plugin would now store; the others stay open.',
    body: {
      contentType: 'application/json',
      schema: { ...deadLetterFilter, properties: { ...(deadLetterFilter.properties as Schema), max: { type: 'integer', minimum: 1, maximum: 100000 }, onlyPassing: { type: 'boolean' } } },
    },
    responses: { '202': { description: 'queued', schema: ref('BulkReplayResult') }, '400': e('bad filter'), ...authErrors },
  },
  {
    method: 'post', path: '/admin/dead-letters/dry-run', tag: 'dead-letters', summary: 'Run the current plugin over dead letters without writing', auth: ['operator', 'author'],
    body: {
      contentType: 'application/json',
      schema: { ...deadLetterFilter, properties: { ...(deadLetterFilter.properties as Schema), max: { type: 'integer', minimum: 1, maximum: 10000, default: 1000 } } },
    },
    responses: { '200': { description: 'would store / still fail, grouped by stage and code', schema: ref('DryRunReport') }, '400': e('bad filter'), ...authErrors },
  },
  {
    method: 'get', path: '/admin/plugins', tag: 'plugins', summary: 'Loaded plugins with status and load errors', auth: 'any',
    responses: { '200': { description: 'plugins of the Enti the token sees', schema: ref('PluginList') }, ...authErrors },
  },
  {
    method: 'post', path: '/admin/plugins/reload', tag: 'plugins', summary: 'Reload plugins and mappings from disk (audited)', auth: ['operator'],
    description: 'Reloads this process and broadcasts the reload to the other engine processes on the same Redis and prefix. Changed hook modules need a restart.',
    responses: { '200': { description: 'the plugins after the reload', schema: ref('PluginReload') }, ...authErrors },
  },
  {
    method: 'get', path: '/admin/partitions', tag: 'storage', summary: 'Per Ente: partitions, resource counts by type, size, last write', auth: 'any',
    responses: { '200': { description: 'the Enti the token sees', schema: ref('PartitionList') }, ...authErrors },
  },
  {
    method: 'get', path: '/admin/enti', tag: 'storage', summary: 'Registered Enti the token sees', auth: 'any',
    responses: { '200': { description: 'Enti', schema: ref('EnteList') }, ...authErrors },
  },
  {
    method: 'post', path: '/admin/enti', tag: 'storage', summary: 'Register an Ente (or rename it): creates its partitions (audited)', auth: ['admin', 'operator'],
    description: 'Needs a token for every Ente. Answers 201 for a new Ente, 200 for an update.',
    body: { contentType: 'application/json', schema: ref('EnteRegistration'), required: true },
    responses: {
      '200': { description: 'updated', schema: ref('Partition') }, '201': { description: 'registered', schema: ref('Partition') },
      '400': e('not a valid Ente'), ...authErrors,
    },
  },
  {
    method: 'post', path: '/admin/partitions/{ente}/reindex', tag: 'storage', summary: "Rebuild an Ente's search index (audited)", auth: ['admin', 'operator'],
    params: [{ name: 'ente', in: 'path', schema: str, required: true }],
    responses: { '200': { description: 'rows indexed', schema: ref('ReindexResult') }, '404': e('no such Ente'), ...authErrors },
  },
  {
    method: 'get', path: '/admin/directory', tag: 'storage', summary: 'The shared regional directory (Organization L1/L2/L3...)', auth: 'any',
    params: [query('type', str, 'resource type')],
    responses: { '200': { description: 'directory resources', schema: ref('DirectoryList') }, ...authErrors },
  },
  {
    method: 'post', path: '/admin/directory', tag: 'storage', summary: 'Add or replace a directory resource (audited)', auth: ['admin', 'operator'],
    description: 'Needs a token for every Ente: the directory is shared by all of them.',
    body: { contentType: 'application/json', schema: { type: 'object', additionalProperties: true }, required: true },
    responses: { '200': { description: 'stored', schema: ref('DirectoryEntry') }, '400': e('not a directory resource'), ...authErrors },
  },
  {
    method: 'post', path: '/admin/retention/run', tag: 'storage', summary: 'Run a retention pass now (audited)', auth: ['admin', 'operator'],
    description: 'Needs a token for every Ente. The same pass runs periodically (config "retention").',
    responses: { '200': { description: 'rows deleted per table and Ente', schema: ref('RetentionReport') }, ...authErrors },
  },
  {
    method: 'get', path: '/admin/overview', tag: 'console', summary: 'Last hour per Ente and plugin, queue, open dead letters, alerts', auth: 'any',
    responses: { '200': { description: 'the overview', schema: ref('Overview') }, ...authErrors },
  },
  {
    method: 'get', path: '/admin/alerts', tag: 'console', summary: 'Alert states (thresholds in config "alerts")', auth: 'any',
    responses: { '200': { description: 'alerts', schema: ref('AlertList') }, ...authErrors },
  },
  {
    method: 'get', path: '/admin/ui', tag: 'console', summary: 'The operator console page', auth: 'any',
    description: 'Browsers without a session are redirected (303) to /admin/login.',
    responses: { '200': { description: 'HTML', contentType: 'text/html', schema: str }, '303': { description: 'to the login form' }, ...authErrors },
  },
  {
    method: 'get', path: '/admin/board', tag: 'console', summary: 'Queue dashboard (bull-board, read-only)', auth: ['operator'],
    description: 'Needs a token (or console session) for every Ente. The board serves its own assets and API under this path.',
    responses: { '200': { description: 'HTML', contentType: 'text/html', schema: str }, '303': { description: 'to the login form' }, ...authErrors },
  },
  {
    method: 'get', path: '/admin/login', tag: 'console', summary: 'Login form of the console',
    params: [query('next', str, 'console path to go to after login')],
    responses: { '200': { description: 'HTML form', contentType: 'text/html', schema: str } },
  },
  {
    method: 'post', path: '/admin/login', tag: 'console', summary: 'Exchange a token for a console session cookie (audited)',
    description: 'Sets `cdr_console` (HttpOnly, SameSite=Strict, 8 h). Changes made with the cookie need the header `x-cdr-console: 1`.',
    body: { contentType: 'application/x-www-form-urlencoded', schema: obj({ token: str, next: str }, ['token']), required: true },
    responses: { '303': { description: 'logged in: to `next`' }, '401': { description: 'bad token: the form again', contentType: 'text/html', schema: str } },
  },
  {
    method: 'post', path: '/admin/logout', tag: 'console', summary: 'End the console session',
    responses: { '303': { description: 'to the login form' } },
  },
  {
    method: 'get', path: '/admin/ui-assets/{name}', tag: 'console', summary: 'Script and stylesheet of the console pages',
    params: [{ name: 'name', in: 'path', schema: { enum: ['console.js', 'console.css'] }, required: true }],
    responses: { '200': { description: 'the asset', contentType: 'text/plain', schema: str }, '404': e('no such asset') },
  },
  {
    method: 'get', path: '/metrics', tag: 'monitoring', summary: 'Prometheus metrics',
    responses: { '200': { description: 'text exposition format', contentType: 'text/plain', schema: str } },
  },
  {
    method: 'get', path: '/openapi.json', tag: 'monitoring', summary: 'This document',
    responses: { '200': { description: 'OpenAPI 3.1', schema: { type: 'object' } } },
  },
  // ARCHITECTURE §5 contracts of the FHIR read API and the workbench (their engineers keep these in step as they land).
  {
    method: 'get', path: '/fhir/{ente}/{type}/{id}', tag: 'fhir', summary: 'Read a resource within one Ente (perimetro aziendale)', auth: 'any',
    params: [{ name: 'ente', in: 'path', schema: str, required: true }, { name: 'type', in: 'path', schema: str, required: true }, { name: 'id', in: 'path', schema: str, required: true }],
    responses: {
      '200': { description: 'the resource', contentType: 'application/fhir+json', schema: ref('FhirResource') },
      '401': { description: 'no token', contentType: 'application/fhir+json', schema: ref('OperationOutcome') },
      '403': { description: 'other Ente', contentType: 'application/fhir+json', schema: ref('OperationOutcome') },
      '404': { description: 'not found', contentType: 'application/fhir+json', schema: ref('OperationOutcome') },
    },
  },
  {
    method: 'get', path: '/fhir/{ente}/{type}', tag: 'fhir', summary: 'Search by identifier within one Ente', auth: 'any',
    params: [{ name: 'ente', in: 'path', schema: str, required: true }, { name: 'type', in: 'path', schema: str, required: true }, query('identifier', str, 'system|value')],
    responses: {
      '200': { description: 'a searchset Bundle', contentType: 'application/fhir+json', schema: ref('Bundle') },
      '400': { description: 'bad search', contentType: 'application/fhir+json', schema: ref('OperationOutcome') },
      '401': { description: 'no token', contentType: 'application/fhir+json', schema: ref('OperationOutcome') },
      '403': { description: 'other Ente', contentType: 'application/fhir+json', schema: ref('OperationOutcome') },
    },
  },
  {
    method: 'get', path: '/fhir/{type}', tag: 'fhir', summary: 'Search across every Ente (perimetro sovra-aziendale; scope sovra-aziendale)', auth: 'any',
    params: [{ name: 'type', in: 'path', schema: str, required: true }, query('identifier', str, 'system|value')],
    responses: {
      '200': { description: 'a searchset Bundle', contentType: 'application/fhir+json', schema: ref('Bundle') },
      '401': { description: 'no token', contentType: 'application/fhir+json', schema: ref('OperationOutcome') },
      '403': { description: 'no sovra-aziendale scope', contentType: 'application/fhir+json', schema: ref('OperationOutcome') },
    },
  },
  {
    method: 'get', path: '/workbench', tag: 'workbench', summary: 'The mapping workbench page', auth: ['author'],
    responses: { '200': { description: 'HTML', contentType: 'text/html', schema: str }, ...authErrors },
  },
];

function operationId(route: RouteSpec): string {
  const words = `${route.method} ${route.path}`.replace(/[{}]/g, '').split(/[^A-Za-z0-9]+/).filter(Boolean);
  return words.map((w, i) => (i === 0 ? w : w[0]!.toUpperCase() + w.slice(1))).join('');
}

export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, Record<string, unknown>>>;
  components: { schemas: Record<string, Schema>; securitySchemes: Record<string, unknown> };
  [key: string]: unknown;
}

export function buildOpenApiDocument(): OpenApiDocument {
  const paths: OpenApiDocument['paths'] = {};
  for (const route of routes) {
    const responses: Record<string, unknown> = {};
    for (const [status, response] of Object.entries(route.responses)) {
      responses[status] = {
        description: response.description,
        ...(response.schema ? { content: { [response.contentType ?? 'application/json']: { schema: response.schema } } } : {}),
      };
    }
    const roles = route.auth === undefined ? undefined : route.auth === 'any' ? 'any valid token' : `roles: admin, ${route.auth.join(', ')}`;
    const description = [route.description, roles ? `Authorization: ${roles}.` : 'No token needed.'].filter(Boolean).join('\n\n');
    paths[route.path] ??= {};
    paths[route.path]![route.method] = {
      operationId: operationId(route),
      tags: [route.tag],
      summary: route.summary,
      description,
      ...(route.params ? { parameters: route.params.map((p) => ({ ...p, required: p.in === 'path' ? true : (p.required ?? false) })) } : {}),
      ...(route.body
        ? { requestBody: { required: route.body.required ?? false, content: { [route.body.contentType]: { schema: route.body.schema } } } }
        : {}),
      responses,
      security: route.auth === undefined ? [] : [{ bearer: [] }, { consoleSession: [] }],
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'cdr-engine',
      version: '0.1.0',
      description: 'Integration engine feeding the Clinical Data Repository of Regione Lombardia: ingest, message trail, operator admin API, metrics, FHIR read API.',
      license: { name: 'Proprietary', identifier: 'LicenseRef-Proprietary' },
    },
    servers: [{ url: '/', description: 'the engine serving this document' }],
    security: [{ bearer: [] }],
    tags: ['health', 'ingest', 'messages', 'queues', 'dead-letters', 'plugins', 'storage', 'console', 'monitoring', 'fhir', 'workbench'].map((name) => ({ name, description: `${name} routes` })),
    paths,
    components: {
      schemas,
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: `CDR_ADMIN_TOKEN or a token from \`cdr token create\`; roles ${ROLES.join(', ')}` },
        consoleSession: { type: 'apiKey', in: 'cookie', name: 'cdr_console', description: 'Console session from POST /admin/login' },
      },
    },
  };
}
