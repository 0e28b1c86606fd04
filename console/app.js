// The Lockstep console's pages. No framework and no build step: every value from the data is inserted as text
// (`h()` makes text nodes of strings), so a commit message or an author name can never become markup; the
// page's CSP allows scripts from this origin only. Data comes from /console/api/ with the bearer token that
// auth.js keeps; the current page polls with If-None-Match and redraws only when its data changed.
import { apiFetch, ensureSignedIn } from './auth.js';

const POLL_MS = 1500;
const main = document.getElementById('main');
const notice = document.getElementById('notice');
const live = document.getElementById('live');

/** An element with attributes and children; strings become text nodes, never HTML. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (key === 'class') el.className = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

const svg = (tag, attrs = {}) => {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value));
  return el;
};

/** A table with a header row of `headings` and the given body rows (`tr` elements). */
function dataTable(attrs, headings, rows) {
  return h(
    'table',
    attrs,
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        headings.map((t) => h('th', {}, t)),
      ),
    ),
    h('tbody', {}, rows),
  );
}

const time = (ms) => (ms ? new Date(ms).toISOString().replace('T', ' ').slice(0, 19) + ' UTC' : '');
function ago(ms, now = Date.now()) {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 90) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 129600) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}
const duration = (ms) =>
  ms === undefined ? '–' : ms < 3_600_000 ? `${Math.round(ms / 60_000)} min` : `${(ms / 3_600_000).toFixed(1)} h`;
const enc = encodeURIComponent;

function say(text, kind = 'info') {
  notice.textContent = text;
  notice.className = `notice ${kind === 'error' ? 'error' : ''}`;
  notice.hidden = false;
}

class NotFound extends Error {}

/** GET JSON; `etag` makes it conditional: `undefined` data means "unchanged". */
async function getJson(path, etag) {
  const response = await apiFetch(path, { headers: etag ? { 'If-None-Match': etag } : {} });
  if (response.status === 304) return { etag, data: undefined };
  const body = await response.json().catch(() => ({}));
  if (response.status === 404) throw new NotFound(body.message ?? 'Not found');
  if (!response.ok) throw new Error(body.message ?? `HTTP ${response.status}`);
  return { etag: response.headers.get('ETag') ?? undefined, data: body };
}

/** POST an action; says the outcome (or the refusal, 403 included) in the notice, then redraws. */
async function act(path, body, done) {
  const response = await apiFetch(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    say(`Refused (${response.status}): ${answer.message ?? 'the action failed'}`, 'error');
    return false;
  }
  say(done);
  refresh();
  return true;
}

// ---- Pages --------------------------------------------------------------------------------------------------

const pages = [
  [/^\/?$/, () => ['/console/api/pipeline', renderPipeline]],
  // A timeline page is addressed by the cursor the API gave for it (opaque, base64url), not by number.
  [
    /^\/environments\/([^/]+)(?:\/page\/([A-Za-z0-9_-]+))?$/,
    (m) => [`/console/api/environments/${enc(m[1])}/timeline${cursorQuery(m[2])}`, renderTimeline],
  ],
  [
    /^\/revisions\/([^/]+)\/(\d+)(?:\/page\/([A-Za-z0-9_-]+))?$/,
    (m) => [`/console/api/revisions/${enc(m[1])}/${m[2]}`, renderRevision, m],
  ],
  [/^\/commits\/([^/]+)$/, (m) => [`/console/api/commits/${enc(m[1])}/progress`, renderProgress]],
  [/^\/audit$/, () => [`/console/api/audit?${auditQuery()}`, renderAudit]],
  [/^\/sdks$/, () => ['/console/api/sdks', renderSdks]],
  [/^\/metrics$/, () => ['/console/api/metrics', renderMetrics]],
];

let current = { path: '', etag: undefined, timer: undefined };

function route() {
  const hash = decodeURI(location.hash.replace(/^#/, '').split('?')[0] || '/');
  for (const [pattern, make] of pages) {
    const m = pattern.exec(hash);
    if (m) return make(m);
  }
  return undefined;
}

async function refresh() {
  const target = route();
  if (!target) return renderNotFound('There is no such page in the console.');
  const [path, render, extra] = target;
  const same = current.path === path;
  try {
    const { etag, data } = await getJson(path, same ? current.etag : undefined);
    live.classList.remove('stale');
    if (data === undefined && same) return;
    current = { ...current, path, etag };
    const view = await render(data, extra);
    main.replaceChildren(...[view].flat());
    if (render === renderPipeline) requestAnimationFrame(drawArrows);
  } catch (error) {
    if (error instanceof NotFound) {
      current = { ...current, path, etag: undefined };
      return renderNotFound(error.message);
    }
    live.classList.add('stale');
    say(`Could not load this page: ${error.message}`, 'error');
  }
}

function renderNotFound(message) {
  main.replaceChildren(
    h(
      'section',
      { class: 'not-found' },
      h('h1', {}, 'Not found'),
      h('p', {}, message),
      h('p', {}, h('a', { href: '#/' }, 'Back to the pipeline')),
    ),
  );
}

function renderPipeline(view) {
  const switches = h(
    'section',
    { class: 'switches', 'aria-label': 'Pipeline switches' },
    h(
      'span',
      {},
      'Pipeline ',
      h('strong', { class: 'switch-state', 'data-switch': 'enabled' }, view.switches.enabled ? 'enabled' : 'disabled'),
    ),
    h(
      'button',
      {
        type: 'button',
        onclick: () => act('/console/api/switches', { enabled: !view.switches.enabled }, 'Pipeline switched'),
      },
      view.switches.enabled ? 'Disable pipeline' : 'Enable pipeline',
    ),
    h(
      'span',
      {},
      'Automation ',
      h('strong', { class: 'switch-state', 'data-switch': 'automation' }, view.switches.automation ? 'on' : 'off'),
    ),
    h(
      'button',
      {
        type: 'button',
        onclick: () => act('/console/api/switches', { automation: !view.switches.automation }, 'Automation switched'),
      },
      view.switches.automation ? 'Turn automation off' : 'Turn automation on',
    ),
  );
  const graph = h('div', { class: 'graph', id: 'graph', 'data-promotions': JSON.stringify(view.promotions) });
  graph.append(svg('svg', { class: 'arrows', id: 'arrows', 'aria-hidden': 'true' }));
  for (const stage of view.stages) {
    graph.append(
      h(
        'section',
        { class: 'stage', 'aria-label': `Stage ${stage.name}` },
        h('h2', {}, stage.name),
        stage.environments.map((env) => card(env, view.at, view.alarmControl)),
      ),
    );
  }
  return [h('h1', {}, `Pipeline ${view.pipeline}`), switches, graph];
}

/**
 * The bake's alarms on a card: name and state (local mode; on AWS the console reads no state), with "Set ALARM" and
 * "Set OK" where the console can set them (local mode's CloudWatch, the one the bake reads).
 */
function alarmRows(env, control) {
  return (env.alarms ?? []).map((a) =>
    h(
      'div',
      { class: 'row alarm', 'data-alarm': a.name },
      'Alarm ',
      h('strong', {}, a.name),
      a.state
        ? [' ', h('span', { class: `badge alarm-${a.state.toLowerCase()}`, 'data-alarm-state': a.state }, a.state)]
        : undefined,
      a.reason ? h('div', { class: 'meta' }, a.reason) : undefined,
      control && a.state !== 'MISSING'
        ? h(
            'div',
            { class: 'actions' },
            ['ALARM', 'OK'].map((state) =>
              h(
                'button',
                {
                  type: 'button',
                  class: state === 'ALARM' ? 'danger' : undefined,
                  disabled: a.state === state,
                  'aria-label': `Set ${state} for ${a.name}`,
                  onclick: () =>
                    act(`/console/api/alarms/${enc(a.name)}`, { state }, `Alarm ${a.name} set to ${state}`),
                },
                `Set ${state}`,
              ),
            ),
          )
        : undefined,
    ),
  );
}

function card(env, now, alarmControl) {
  const apps = env.applications.length
    ? env.applications.map((a) =>
        h(
          'div',
          { class: 'row', 'data-application': a.application },
          h('a', { href: `#/revisions/${enc(a.application)}/${a.revision}` }, `${a.application} r${a.revision}`),
          ' ',
          h('span', { class: `badge state-${a.state.replace(' ', '-')}`, 'data-state': a.state }, a.state),
          h(
            'div',
            { class: 'meta' },
            `since ${time(a.since)} (${ago(a.since, now)})`,
            a.previous ? `, before: r${a.previous}` : '',
          ),
        ),
      )
    : [h('div', { class: 'row meta' }, 'nothing deployed')];
  const lock = env.lock
    ? h('div', { class: 'row lock' }, `Locked by ${env.lock.owner} until ${time(env.lock.leaseExpiresAt)}`)
    : h('div', { class: 'row meta' }, 'Unlocked');
  const window = env.window
    ? h(
        'div',
        { class: 'row meta' },
        env.window.open
          ? `Window open (${env.window.windows.join(', ')})`
          : `Window closed, opens ${env.window.nextOpening}`,
      )
    : undefined;
  const approvals = env.pendingApprovals.map((p) =>
    h(
      'div',
      { class: 'row approval', 'data-request': p.requestId },
      `Waiting for approval of ${p.application} r${p.revision} by ${p.approvers.join(', ')}`,
      p.link ? h('div', {}, h('a', { href: p.link }, 'Approval page')) : undefined,
      h(
        'div',
        { class: 'actions' },
        h(
          'button',
          {
            type: 'button',
            class: 'primary',
            onclick: () =>
              act(
                `/console/api/approvals/${enc(p.requestId)}`,
                { decision: 'approve' },
                `Approved ${p.application} r${p.revision} in ${env.name}`,
              ),
          },
          `Approve r${p.revision}`,
        ),
        h(
          'button',
          {
            type: 'button',
            class: 'danger',
            onclick: () =>
              act(
                `/console/api/approvals/${enc(p.requestId)}`,
                { decision: 'reject' },
                `Rejected ${p.application} r${p.revision} in ${env.name}`,
              ),
          },
          `Reject r${p.revision}`,
        ),
      ),
    ),
  );
  const next = env.next
    .filter((n) => n.kind !== 'in-sync')
    .map((n) => h('div', { class: 'row reason', 'data-kind': n.kind }, n.reason));
  const app = env.applications[0];
  const actions = h(
    'div',
    { class: 'actions' },
    h('a', { href: `#/environments/${enc(env.name)}` }, 'Timeline'),
    app
      ? h('button', { type: 'button', class: 'danger', onclick: () => rollbackDialog(env, app) }, 'Roll back…')
      : undefined,
    app
      ? h(
          'button',
          {
            type: 'button',
            onclick: () =>
              act(
                `/console/api/environments/${enc(env.name)}/pin`,
                { application: app.application, revision: app.revision },
                `Pinned ${env.name}`,
              ),
          },
          'Pin',
        )
      : undefined,
    app
      ? h(
          'button',
          {
            type: 'button',
            onclick: () =>
              act(
                `/console/api/environments/${enc(env.name)}/unpin`,
                { application: app.application },
                `Unpinned ${env.name}`,
              ),
          },
          'Unpin',
        )
      : undefined,
  );
  return h(
    'article',
    { class: 'card', id: `env-${env.name}`, 'data-environment': env.name, 'aria-label': `Environment ${env.name}` },
    h('h3', {}, env.name, env.region ? h('span', { class: 'meta' }, ` ${env.region}`) : undefined),
    apps,
    lock,
    window,
    alarmRows(env, alarmControl),
    approvals,
    next,
    actions,
  );
}

function rollbackDialog(env, app) {
  const to = h('input', { type: 'number', min: 1, name: 'to', value: app.previous ?? '', id: 'rollback-to' });
  const reason = h('input', { type: 'text', name: 'reason', id: 'rollback-reason' });
  const override = h('input', { type: 'checkbox', name: 'override', id: 'rollback-override' });
  const dialog = h(
    'dialog',
    { 'aria-label': `Roll back ${env.name}` },
    h(
      'form',
      { method: 'dialog' },
      h('h3', {}, `Roll back ${app.application} in ${env.name} (runs r${app.revision})`),
      h('label', { for: 'rollback-to' }, 'To revision (empty: the last approved before)'),
      to,
      h('label', { for: 'rollback-reason' }, 'Reason'),
      reason,
      h('label', { for: 'rollback-override' }, override, ' Override the lock and the windows (recorded)'),
      h(
        'div',
        { class: 'actions' },
        h('button', { type: 'submit', value: 'cancel' }, 'Cancel'),
        h('button', { type: 'submit', value: 'rollback', class: 'danger', id: 'rollback-confirm' }, 'Roll back'),
      ),
    ),
  );
  dialog.addEventListener('close', () => {
    dialog.remove();
    if (dialog.returnValue !== 'rollback') return;
    const body = { application: app.application };
    if (to.value) body.toRevision = Number(to.value);
    if (reason.value) body.reason = reason.value;
    if (override.checked) body.overrideLockAndWindows = true;
    act(`/console/api/environments/${enc(env.name)}/rollback`, body, `Rolling ${env.name} back`);
  });
  document.body.append(dialog);
  dialog.showModal();
}

function drawArrows() {
  const graph = document.getElementById('graph');
  const arrows = document.getElementById('arrows');
  if (!graph || !arrows) return;
  const box = graph.getBoundingClientRect();
  arrows.setAttribute('width', String(graph.scrollWidth));
  arrows.setAttribute('height', String(graph.scrollHeight));
  arrows.replaceChildren();
  for (const p of JSON.parse(graph.dataset.promotions ?? '[]')) {
    const from = document.getElementById(`env-${p.from}`);
    const to = document.getElementById(`env-${p.to}`);
    if (!from || !to) continue;
    const a = from.getBoundingClientRect();
    const b = to.getBoundingClientRect();
    arrows.append(
      svg('line', {
        x1: a.right - box.left,
        y1: a.top + a.height / 2 - box.top,
        x2: b.left - box.left,
        y2: b.top + Math.min(24, b.height / 2) - box.top,
        class: p.enabled ? '' : 'disabled',
      }),
    );
  }
}

function timelineTable(entries) {
  return dataTable(
    { class: 'timeline' },
    ['When', 'What', 'Who', 'Details'],
    entries.map((e) =>
      h(
        'tr',
        { 'data-type': e.type },
        h('td', {}, time(e.at)),
        h('td', {}, e.type),
        h('td', {}, e.actor),
        h(
          'td',
          {},
          e.message,
          e.revision !== undefined && e.application
            ? [' ', h('a', { href: `#/revisions/${enc(e.application)}/${e.revision}` }, `r${e.revision}`)]
            : undefined,
        ),
      ),
    ),
  );
}

function cursorQuery(cursor) {
  return cursor ? `?cursor=${enc(cursor)}` : '';
}

function pager(view, base) {
  return h(
    'nav',
    { class: 'pager', 'aria-label': 'Pages' },
    view.newer ? h('a', { href: `${base}/page/${view.newer}` }, 'Newer') : undefined,
    h('span', {}, `Page ${view.page}`),
    view.older ? h('a', { href: `${base}/page/${view.older}` }, 'Older') : undefined,
  );
}

function renderTimeline(view) {
  const base = `#/environments/${enc(view.scope.environment)}`;
  return [h('h1', {}, `Timeline of ${view.scope.environment}`), timelineTable(view.entries), pager(view, base)];
}

async function renderRevision(detail, m) {
  const [{ data: progress }, { data: timeline }] = [
    await getJson(`/console/api/revisions/${enc(m[1])}/${m[2]}/progress`),
    await getJson(`/console/api/revisions/${enc(m[1])}/${m[2]}/timeline${cursorQuery(m[3])}`),
  ];
  return [
    h('h1', {}, `${detail.application} revision ${detail.number}`),
    h(
      'p',
      { class: 'meta' },
      `Built ${time(detail.createdAt)} by ${detail.buildId}${detail.priority ? ', priority' : ''}`,
    ),
    h('h2', {}, 'Commits'),
    h(
      'ul',
      { class: 'commits' },
      detail.commits.map((c) =>
        h(
          'li',
          {},
          h('code', {}, c.id.slice(0, 12)),
          ' ',
          h('span', { class: 'commit-message' }, c.message),
          ' — ',
          h('span', { class: 'author' }, c.author),
        ),
      ),
    ),
    h('h2', {}, 'Version set'),
    h(
      'table',
      {},
      h(
        'tbody',
        {},
        Object.entries(detail.versionSet).map(([p, v]) => h('tr', {}, h('th', {}, p), h('td', {}, h('code', {}, v)))),
      ),
    ),
    h('h2', {}, 'Progress'),
    progressTable(progress),
    h('h2', {}, 'Tests per environment'),
    h(
      'table',
      {},
      h(
        'tbody',
        {},
        Object.entries(detail.testResults).map(([env, r]) =>
          h('tr', {}, h('th', {}, env), h('td', {}, `${r.passed} passed, ${r.failed} failed`)),
        ),
      ),
    ),
    h('h2', {}, 'Against what each environment runs'),
    dataTable(
      {},
      ['Environment', 'Runs', 'This revision is', 'Packages that differ', 'Commits between'],
      detail.environments.map((d) =>
        h(
          'tr',
          {},
          h('td', {}, d.environment),
          h('td', {}, d.running ? `r${d.running}` : '–'),
          h('td', {}, d.relation),
          h(
            'td',
            {},
            d.packages.map((p) => h('div', {}, `${p.package}: ${p.running ?? '–'} → ${p.revision ?? '–'}`)),
          ),
          h(
            'td',
            {},
            d.commits.map((c) => h('div', {}, h('code', {}, c.id.slice(0, 8)), ' ', c.message, ' — ', c.author)),
          ),
        ),
      ),
    ),
    h('h2', {}, 'Timeline'),
    timelineTable(timeline.entries),
    pager(timeline, `#/revisions/${enc(detail.application)}/${detail.number}`),
  ];
}

function progressTable(progress) {
  return dataTable(
    { class: 'progress' },
    ['Environment', 'Stage', 'State', 'Deployed', 'Approved', 'Why it waits'],
    progress.environments.map((e) =>
      h(
        'tr',
        { 'data-environment': e.environment },
        h('td', {}, e.environment),
        h('td', {}, e.stage),
        h('td', {}, e.state),
        h('td', {}, time(e.deployedAt)),
        h('td', {}, time(e.approvedAt)),
        h('td', {}, e.reason ?? ''),
      ),
    ),
  );
}

function renderProgress(progress) {
  return [
    h('h1', {}, `Progress of ${progress.application} revision ${progress.revision}`),
    h('p', {}, h('a', { href: `#/revisions/${enc(progress.application)}/${progress.revision}` }, 'Revision detail')),
    progressTable(progress),
  ];
}

function auditQuery() {
  const params = new URLSearchParams(location.hash.split('?')[1] ?? '');
  const query = new URLSearchParams();
  for (const key of ['environment', 'actor', 'action']) if (params.get(key)) query.set(key, params.get(key));
  return query.toString();
}

async function download(format) {
  const query = auditQuery();
  const response = await apiFetch(`/console/api/audit?${query}${query ? '&' : ''}format=${format}`);
  if (!response.ok) return say(`Export refused (${response.status})`, 'error');
  const url = URL.createObjectURL(await response.blob());
  const link = h('a', { href: url, download: `lockstep-audit.${format}` });
  document.body.append(link);
  link.click();
  link.remove();
  URL.revokeObjectURL(url);
}

function renderAudit(view) {
  const field = (name, label) =>
    h('label', {}, label, h('input', { name, value: view.filter[name] ?? '', autocomplete: 'off' }));
  const form = h(
    'form',
    { class: 'filters', 'aria-label': 'Filter the audit log' },
    field('environment', 'Environment'),
    field('actor', 'Actor'),
    field('action', 'Action'),
    h('button', { type: 'submit' }, 'Filter'),
    h('button', { type: 'button', onclick: () => download('csv') }, 'Export CSV'),
    h('button', { type: 'button', onclick: () => download('json') }, 'Export JSON'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const query = new URLSearchParams();
    for (const [key, value] of new FormData(form)) if (value) query.set(key, String(value));
    location.hash = `#/audit?${query}`;
  });
  return [
    h('h1', {}, 'Audit log'),
    form,
    dataTable(
      { class: 'audit' },
      ['When', 'Who', 'Action', 'Environment', 'From', 'What'],
      view.entries.map((e) =>
        h(
          'tr',
          { 'data-action': e.action },
          h('td', {}, time(e.at)),
          h('td', {}, e.actor),
          h('td', {}, e.action),
          h('td', {}, e.environment ?? ''),
          h('td', {}, [e.via, e.from].filter(Boolean).join(' ')),
          h('td', {}, e.message),
        ),
      ),
    ),
  ];
}

function renderSdks(view) {
  if (!view.available) return [h('h1', {}, 'SDKs'), h('p', {}, 'No SDK publisher runs beside this pipeline.')];
  const table = (rows, withReason) =>
    dataTable(
      {},
      ['SDK', 'Version', 'State', 'Tier', withReason ? 'Why' : 'Published'],
      rows.map((v) =>
        h(
          'tr',
          { 'data-status': v.status },
          h('td', {}, v.name),
          h('td', {}, v.version),
          h('td', {}, v.status),
          h('td', {}, v.tier),
          h(
            'td',
            { class: 'commit-message' },
            withReason
              ? [v.reason, v.involved?.length ? ` (involves ${v.involved.map((i) => i.name).join(', ')})` : '']
              : (v.publishedAt ?? ''),
          ),
        ),
      ),
    );
  return [
    h('h1', {}, 'SDKs'),
    h('h2', {}, 'In staging'),
    table(view.staging, true),
    h('h2', {}, 'Published catalogue'),
    table(view.catalogue, false),
  ];
}

function chart(values, label) {
  const width = 240;
  const height = 48;
  const max = Math.max(1, ...values);
  const bar = width / values.length;
  const el = svg('svg', {
    class: 'chart',
    width,
    height,
    role: 'img',
    'aria-label': label,
    viewBox: `0 0 ${width} ${height}`,
  });
  el.append(svg('line', { x1: 0, y1: height - 0.5, x2: width, y2: height - 0.5 }));
  values.forEach((v, i) => {
    const barHeight = (v / max) * (height - 4);
    el.append(svg('rect', { x: i * bar + 1, y: height - barHeight, width: Math.max(1, bar - 2), height: barHeight }));
  });
  return el;
}

function renderMetrics(view) {
  return [
    h('h1', {}, `Delivery metrics, last ${view.days} days`),
    view.truncated
      ? h('p', { class: 'notice' }, 'Only the newest timeline entries were read: the oldest days are undercounted.')
      : undefined,
    view.environments.length === 0 ? h('p', {}, 'No deploys in the last 30 days.') : undefined,
    h(
      'div',
      { class: 'metrics' },
      view.environments.map((m) =>
        h(
          'section',
          { class: 'card', 'aria-label': `${m.application} in ${m.environment}` },
          h('h3', {}, `${m.application} in ${m.environment}`),
          chart(m.deploymentsPerDay, `Deploys per day in ${m.environment}`),
          h(
            'div',
            { class: 'row' },
            `Deployments: ${m.deployments} (${(m.deployments / view.days).toFixed(2)} per day)`,
          ),
          h(
            'div',
            { class: 'row' },
            `Change failure rate: ${m.changeFailureRate === undefined ? '–' : `${Math.round(m.changeFailureRate * 100)} %`}`,
          ),
          h('div', { class: 'row' }, `Time to restore: ${duration(m.meanTimeToRestoreMs)}`),
          m.production
            ? h('div', { class: 'row' }, `Lead time, commit to production: ${duration(m.medianLeadTimeMs)}`)
            : undefined,
        ),
      ),
    ),
  ];
}

// ---- Start ------------------------------------------------------------------------------------------------------

document.getElementById('open-change').addEventListener('submit', (event) => {
  event.preventDefault();
  const text = String(new FormData(event.target).get('change') ?? '').trim();
  const revision = /^([^/\s]+)\/r?(\d+)$/.exec(text);
  location.hash = revision ? `#/revisions/${enc(revision[1])}/${revision[2]}` : `#/commits/${enc(text)}`;
});

window.addEventListener('hashchange', () => {
  current = { ...current, path: '', etag: undefined };
  notice.hidden = true;
  refresh();
});

const identity = await ensureSignedIn();
if (identity) {
  document.getElementById('who').textContent = `${identity.user} (${identity.groups.join(', ') || 'no group'})`;
  await refresh();
  current.timer = setInterval(refresh, POLL_MS);
}
