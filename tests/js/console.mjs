// Drives the GraphiQL console in the OS's Chromium (playwright-core; no browser download) the way
// a person would: sign in with the mutation, paste the token into the headers editor, run a
// signed-in query, start a subscription and see an event arrive. Every request to another
// origin is aborted and counted; the run fails on any, on a page error, or on a step that does
// not happen within the timeout. Prints one JSON line with what it saw (tests/it/console_browser.rs).
//
// node console.mjs --url http://127.0.0.1:PORT/ --email E --password P --workspace-id ID
//   --workspace-name NAME --lead-id ID --after CURSOR --screenshot FILE [--chromium PATH]

import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

const { values: args } = parseArgs({
  options: Object.fromEntries(
    ['url', 'email', 'password', 'workspace-id', 'workspace-name', 'lead-id', 'after', 'screenshot', 'chromium'].map(
      (name) => [name, { type: 'string' }],
    ),
  ),
});
for (const name of ['url', 'email', 'password', 'workspace-id', 'workspace-name', 'lead-id', 'after', 'screenshot']) {
  if (!args[name]) throw new Error(`--${name} is required`);
}

// Generous: a loaded two-core machine runs the whole suite beside this browser.
const TIMEOUT = 90_000;

function findChromium() {
  const explicit = args.chromium || process.env.INTAKEFLOW_CHROMIUM;
  if (explicit) return explicit;
  for (const dir of (process.env.PATH || '').split(delimiter)) {
    for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
      try {
        accessSync(join(dir, name), constants.X_OK);
        return join(dir, name);
      } catch {
        // not in this directory
      }
    }
  }
  throw new Error('no Chromium found: install it (`make test` does: apt-get install chromium) or set INTAKEFLOW_CHROMIUM');
}

const isLocal = (url) => ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(url).hostname);

const blocked = [];
const pageErrors = [];
const consoleErrors = [];
const sockets = [];
// Called with each JSON frame a page's WebSocket sends.
let onFrameSent = () => {};

function withTimeout(promise, message) {
  let timer;
  const timeout = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(message)), TIMEOUT)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const browser = await chromium.launch({
  executablePath: findChromium(),
  headless: true,
  // As root, Chromium refuses to start with its sandbox on.
  args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
  timeout: TIMEOUT,
});
try {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  context.setDefaultTimeout(TIMEOUT);
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith('data:') || isLocal(url)) return route.continue();
    blocked.push(url);
    return route.abort('blockedbyclient');
  });
  const page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(String(error)));
  page.on('console', (message) => message.type() === 'error' && consoleErrors.push(message.text()));
  // WebSockets bypass routing: each is recorded with the frames it sent.
  page.on('websocket', (ws) => {
    const socket = { url: ws.url(), sent: [] };
    sockets.push(socket);
    if (!isLocal(ws.url())) blocked.push(ws.url());
    ws.on('framesent', (frame) => {
      socket.sent.push(String(frame.payload));
      onFrameSent(JSON.parse(String(frame.payload)));
    });
  });

  await page.goto(args.url);
  const query = '.graphiql-query-editor .CodeMirror';
  const headers = '.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror';
  const result = '.result-window .CodeMirror';
  await page.waitForSelector(`${query}, ${headers}, ${result}`);
  await page.waitForSelector(headers);
  await page.waitForSelector(result);

  // The editors are CodeMirror 5 instances: set and read their text through their API, as
  // typing would (GraphiQL listens to the same change events).
  const getText = (selector) => page.$eval(selector, (el) => el.CodeMirror.getValue());
  const setText = (selector, text) => page.$eval(selector, (el, t) => el.CodeMirror.setValue(t), text);
  // GraphiQL reads the operation's name and kind from the query editor after a debounce: wait
  // for them, or the run would send the previous operation's name.
  const setQuery = async (text, operationName) => {
    await setText(query, text);
    await page.waitForFunction(
      ([selector, name]) => document.querySelector(selector)?.CodeMirror.operationName === name,
      [query, operationName],
      { timeout: TIMEOUT, polling: 50 },
    );
  };
  const run = () => page.click('.graphiql-execute-button');
  const resultContains = (needle) =>
    page.waitForFunction(
      ([selector, text]) => document.querySelector(selector)?.CodeMirror.getValue().includes(text),
      [result, needle],
      { timeout: TIMEOUT, polling: 100 },
    );

  const defaults = { query: await getText(query), headers: await getText(headers) };
  if (!defaults.query.includes('signIn') || !defaults.headers.includes('Bearer <token from signIn>')) {
    throw new Error(`unexpected defaults: ${JSON.stringify(defaults)}`);
  }

  // Sign in with the example header still in place: the console must not send it.
  await setQuery(
    `mutation SignIn { signIn(input: {email: ${JSON.stringify(args.email)}, password: ${JSON.stringify(args.password)}}) { token } }`,
    'SignIn',
  );
  await run();
  await page.waitForFunction(
    (selector) => /"(token|errors)"/.test(document.querySelector(selector)?.CodeMirror.getValue() ?? ''),
    result,
    { timeout: TIMEOUT, polling: 100 },
  );
  const signIn = JSON.parse(await getText(result));
  const token = signIn?.data?.signIn?.token;
  if (!token) throw new Error(`signIn failed in the console: ${JSON.stringify(signIn)}`);
  await setText(headers, JSON.stringify({ Authorization: `Bearer ${token}` }, null, 2));

  await setQuery('query Me { me { email workspaces(first: 5) { nodes { id name } } } }', 'Me');
  await run();
  await resultContains(args['workspace-name']);
  const me = JSON.parse(await getText(result));
  if (me?.data?.me?.email !== args.email) throw new Error(`the signed-in query answered ${JSON.stringify(me)}`);

  // From the stream position the test read before, so the note below cannot be missed however
  // late the subscription starts on the server.
  const subscribeSent = withTimeout(new Promise((resolve) => (onFrameSent = (frame) => frame.type === 'subscribe' && resolve())), 'no subscribe frame was sent');
  await setQuery(
    `subscription Events { leadEvents(workspaceId: ${JSON.stringify(args['workspace-id'])}, after: ${JSON.stringify(args.after)}) { type data actor { email } } }`,
    'Events',
  );
  await run();
  await subscribeSent;

  const note = `written while the console listened ${Date.now()}`;
  const written = await fetch(new URL('/graphql', args.url), {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({
      query: 'mutation($lead: ID!, $body: String!) { addLeadNote(leadId: $lead, body: $body) { id } }',
      variables: { lead: args['lead-id'], body: note },
    }),
  }).then((r) => r.json());
  if (!written?.data?.addLeadNote?.id) throw new Error(`addLeadNote failed: ${JSON.stringify(written)}`);
  await resultContains(note);
  const event = JSON.parse(await getText(result));

  await page.screenshot({ path: args.screenshot, fullPage: true });
  // Stops the subscription (the button is a stop button while it runs).
  await run();

  const init = sockets
    .flatMap((s) => s.sent)
    .map((f) => JSON.parse(f))
    .find((m) => m.type === 'connection_init');
  const summary = {
    blocked,
    pageErrors,
    consoleErrors,
    sockets: sockets.map((s) => s.url),
    connectionInitAuthorization: init?.payload?.Authorization ?? init?.payload?.authorization ?? null,
    token,
    me: me.data.me,
    event: event?.data?.leadEvents ?? event,
    note,
    screenshot: args.screenshot,
  };
  console.log(JSON.stringify(summary));
  if (blocked.length || pageErrors.length) {
    throw new Error(`requests to other origins or page errors: ${JSON.stringify({ blocked, pageErrors })}`);
  }
} finally {
  await browser.close();
}
