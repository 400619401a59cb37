// The kit's flows against a running server, one printed line per step: sign in, submit a public
// form twice with one idempotency key, page through the workspace's leads, follow `leadEvents`
// and `executionLogs` across a dropped connection, run a workflow and approve it.
//
// Environment: INTAKEFLOW_URL (the /graphql endpoint), INTAKEFLOW_EMAIL, INTAKEFLOW_PASSWORD,
// INTAKEFLOW_WORKSPACE (slug), INTAKEFLOW_FORM (slug of a published form with a `name` field),
// INTAKEFLOW_WORKFLOW (id of an active MANUAL workflow; an APPROVAL node in it is approved),
// INTAKEFLOW_PAGE_SIZE (leads per page, default 2). Exits non-zero on any failed check.
import { createHash, randomUUID } from 'node:crypto';

import {
  createSubscriptionClient,
  documentText,
  manifestSize,
  mismatchedManifestEntries,
  persistedHash,
  request,
  resumable,
  type ClientOptions,
} from './client.js';
import * as doc from './documents.js';
import type { LeadEventsSubscription } from './gql/graphql.js';

function env(name: string, fallback?: string): string {
  const value = process.env[name] ?? fallback;
  if (value === undefined || value === '') throw new Error(`set ${name}`);
  return value;
}

function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`check failed: ${message}`);
}

const log = (line: string) => console.log(line);

async function main(): Promise<void> {
  const url = env('INTAKEFLOW_URL');
  const email = env('INTAKEFLOW_EMAIL');
  const password = env('INTAKEFLOW_PASSWORD');
  const workspaceSlug = env('INTAKEFLOW_WORKSPACE');
  const formSlug = env('INTAKEFLOW_FORM');
  const workflowId = env('INTAKEFLOW_WORKFLOW');
  const pageSize = Number(env('INTAKEFLOW_PAGE_SIZE', '2'));

  // The manifest the server allow-lists: each key must be the sha256 of the exact text we send.
  const bad = mismatchedManifestEntries();
  check(bad.length === 0, `manifest keys that are not sha256 of their text: ${bad.join(', ')}`);
  for (const [name, d] of Object.entries(doc)) {
    const sent = `sha256:${createHash('sha256').update(documentText(d), 'utf8').digest('hex')}`;
    check(persistedHash(d) === sent, `${name}: hash ${persistedHash(d)} but the text sent hashes to ${sent}`);
  }
  log(`persisted documents: ${manifestSize()} documents, each key is sha256 of the text sent`);

  // ── Sign in ──
  const anonymous: ClientOptions = { url };
  const signIn = async () => (await request(anonymous, doc.SignIn, { email, password })).signIn;
  const session = await signIn();
  let token = session.token;
  log(`signed in as ${session.user.email} (user ${session.user.id})`);
  const api: ClientOptions = { url, token: () => token };

  const { workspace } = await request(api, doc.WorkspaceBySlug, { slug: workspaceSlug });
  log(`workspace ${workspace.slug}: ${workspace.id} (role ${workspace.viewerRole})`);

  // ── Submit a public form: a retry with the same idempotency key writes nothing new ──
  const submitter = `kit-${randomUUID()}@example.com`;
  const submission = {
    workspaceSlug,
    formSlug,
    values: { email: submitter, name: 'Kit Example' },
    idempotencyKey: randomUUID(),
  };
  const first = (await request(anonymous, doc.SubmitForm, submission)).submitForm;
  const replay = (await request(anonymous, doc.SubmitForm, submission)).submitForm;
  check(!first.replayed && replay.replayed, 'the second submission is a replay');
  check(replay.submissionId === first.submissionId, 'the replay returns the first submission');
  log(`submitted: submission ${first.submissionId}, replay returned the same submission (replayed=true)`);

  // ── Leads: filter and page ──
  const seen = new Set<string>();
  let after: string | null = null;
  let total = 0;
  for (let page = 1; ; page++) {
    const leads: Awaited<ReturnType<typeof listLeads>> = await listLeads(api, workspace.id, pageSize, after);
    total = leads.totalCount;
    for (const lead of leads.nodes) {
      check(!seen.has(lead.id), `lead ${lead.id} on two pages`);
      seen.add(lead.id);
    }
    log(`leads page ${page}: ${leads.nodes.length} leads, hasNextPage=${leads.pageInfo.hasNextPage}`);
    if (!leads.pageInfo.hasNextPage) break;
    after = leads.pageInfo.endCursor;
    check(after !== null, 'a next page has a cursor');
  }
  check(seen.size === total, `paged through ${seen.size} of ${total} leads`);
  log(`leads: ${seen.size} of totalCount ${total}, each on one page`);

  const found = await request(api, doc.Leads, {
    workspaceId: workspace.id,
    filter: { search: submitter },
    first: 10,
  });
  const lead = found.workspace.leads.nodes[0];
  check(found.workspace.leads.totalCount === 1 && lead !== undefined, `one lead matches ${submitter}`);
  log(`lead ${lead.id} found by search for ${submitter}`);

  // ── Subscriptions: one WebSocket, a fresh token on every connect ──
  let connects = 0;
  const ws = createSubscriptionClient({
    url,
    token: async () => {
      connects += 1;
      // Stands in for refreshing an expiring token: a new session for every reconnect.
      if (connects > 1) token = (await signIn()).token;
      return token;
    },
    onConnected: () => log(`ws connected (#${connects}${connects > 1 ? ', with a fresh token' : ''})`),
  });
  const resumed = (stream: string) => (cursor: string | undefined) =>
    log(`resumed ${stream} after reconnect from cursor ${cursor ?? '(start)'}`);

  // leadEvents from the lead's latest event on, so nothing after it can be missed.
  const latest = (await request(api, doc.LatestLeadEvent, { leadId: lead.id })).lead.events.nodes[0];
  check(latest !== undefined, 'the new lead has events');
  const events = resumable(
    ws,
    doc.LeadEvents,
    { workspaceId: workspace.id, after: latest.cursor },
    (d) => d.leadEvents.cursor,
    { onResume: resumed('leadEvents') },
  );
  const eventIds = new Set<string>();
  const nextEvent = async (): Promise<LeadEventsSubscription['leadEvents']> => {
    const next = await events.next();
    check(!next.done, 'leadEvents ended early');
    const e = next.value.leadEvents;
    check(!eventIds.has(e.id), `leadEvent ${e.id} delivered twice`);
    eventIds.add(e.id);
    const body = (e.data as { body?: unknown } | null)?.body;
    const by = e.actor?.email ?? (e.actorExecutionId ? `execution ${e.actorExecutionId}` : 'nobody');
    log(`leadEvent: ${e.type} ${typeof body === 'string' ? `"${body}" ` : ''}by ${by} (cursor ${e.cursor})`);
    return e;
  };
  const note = (body: string) => request(api, doc.AddLeadNote, { leadId: lead.id, body });

  await note('note 1');
  await note('note 2');
  const notes = [await nextEvent(), await nextEvent()];
  // Drop the socket as a network failure would; notes 3 and 4 are written while it is down.
  ws.ws.terminate();
  log('terminated the WebSocket');
  await note('note 3');
  await note('note 4');
  notes.push(await nextEvent(), await nextEvent());
  const bodies = notes.map((e) => (e.data as { body?: unknown }).body);
  check(JSON.stringify(bodies) === JSON.stringify(['note 1', 'note 2', 'note 3', 'note 4']), `notes ${bodies}`);
  log('leadEvents: notes 1-4 each seen exactly once, in order, across the reconnect');

  // ── Run a workflow and follow its log ──
  const execution = (
    await request(api, doc.RunWorkflow, { workflowId, leadId: lead.id, idempotencyKey: randomUUID() })
  ).runWorkflow;
  log(`execution ${execution.id} started (${execution.status})`);

  const cursors: string[] = [];
  let terminated = false;
  const lines = resumable(ws, doc.ExecutionLogs, { executionId: execution.id }, (d) => d.executionLogs.cursor, {
    onResume: resumed('executionLogs'),
  });
  for await (const { executionLogs: line } of lines) {
    check(!cursors.includes(line.cursor), `log line ${line.cursor} delivered twice`);
    cursors.push(line.cursor);
    log(`log: [${line.level}] ${line.message} (cursor ${line.cursor})`);
    const waiting = /^APPROVAL `([^`]+)` waiting for a decision$/.exec(line.message);
    if (waiting?.[1]) {
      const decided = await request(api, doc.DecideApproval, { executionId: execution.id, nodeKey: waiting[1] });
      log(`approved ${waiting[1]} (execution ${decided.decideApproval.status})`);
    }
    if (!terminated) {
      // Mid-stream: the execution cannot finish before it is approved, so the stream is open.
      terminated = true;
      ws.ws.terminate();
      log('terminated the WebSocket');
    }
  }
  const stored = (await request(api, doc.ExecutionLogsOf, { executionId: execution.id })).execution;
  const expected = stored.logs.map((l) => l.cursor);
  check(JSON.stringify(cursors) === JSON.stringify(expected), `streamed ${cursors} but stored ${expected}`);
  log(`executionLogs: ${cursors.length} lines, each exactly once, as stored (execution ${stored.status})`);

  // The run's own lead events arrive on the same leadEvents stream, resumed after the drop.
  for (;;) {
    const e = await nextEvent();
    if (e.type === 'WORKFLOW_FINISHED') break;
  }
  await events.return();
  await ws.dispose();
  log(`done: ${connects} WebSocket connects`);
}

async function listLeads(api: ClientOptions, workspaceId: string, first: number, after: string | null) {
  const r = await request(api, doc.Leads, {
    workspaceId,
    filter: { status: ['NEW', 'CONTACTED'] },
    orderBy: { field: 'CREATED_AT', direction: 'DESC' },
    first,
    after,
  });
  return r.workspace.leads;
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    if (error && typeof error === 'object' && 'code' in error) console.error(`code: ${String(error.code)}`);
    process.exit(1);
  },
);
