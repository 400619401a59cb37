// The real graphql-ws client (the reference graphql-transport-ws implementation) against the
// server at argv[2], as the Rust integration tests direct it (argv[3], JSON):
//   { "token": "...", "operations": [{ "query": "...", "variables": {} }, ...],
//     "sameId": false, "holdInit": false }
// Each operation is subscribed in order; the script waits for the first outcome of each (its
// first result, an `error` message, or the socket closing) and prints one JSON line:
//   { "outcomes": [{ "kind": "next" } | { "kind": "error", "codes": [...] } | { "kind": "close", "code": n }],
//     "closed": n | null }
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const [url, specText] = process.argv.slice(2);
if (!url || !specText) {
  console.error('usage: node graphql-ws-client.mjs <ws url> <spec json>');
  process.exit(2);
}
const spec = JSON.parse(specText);
let closed = null;

const client = createClient({
  url,
  webSocketImpl: WebSocket,
  lazy: true,
  retryAttempts: 0,
  // A client that never finishes its connection_init: the server's init timeout must end it.
  connectionParams: spec.holdInit
    ? () => new Promise(() => {})
    : { authorization: `Bearer ${spec.token}` },
  generateID: spec.sameId ? () => 'same' : undefined,
  on: { closed: (event) => { closed = event?.code ?? null; } },
});

const outcome = (operation) => new Promise((resolve) => {
  let settled = false;
  const settle = (value) => { if (!settled) { settled = true; resolve(value); } };
  client.subscribe(operation, {
    next: () => settle({ kind: 'next' }),
    error: (err) => {
      if (Array.isArray(err)) settle({ kind: 'error', codes: err.map((e) => e?.extensions?.code ?? null) });
      else if (err && typeof err.code === 'number') settle({ kind: 'close', code: err.code, reason: err.reason });
      else settle({ kind: 'failure', message: String(err?.message ?? err) });
    },
    complete: () => settle({ kind: 'complete' }),
  });
});

const pending = [];
for (const operation of spec.operations) {
  pending.push(outcome(operation));
  // In order: the server sees the subscribes one after the other.
  await new Promise((resolve) => setImmediate(resolve));
}
const outcomes = await Promise.all(pending);
console.log(JSON.stringify({ outcomes, closed }));
await client.dispose();
process.exit(0);
