// A small typed client for the intakeflow GraphQL API: `request` over HTTP (fetch) and
// resumable subscriptions over graphql-transport-ws (graphql-ws), both taking the documents that
// `npm run codegen` generates from src/documents.ts.
import { createHash } from 'node:crypto';

import { print, type GraphQLFormattedError } from 'graphql';
import { createClient, type Client as WsClient } from 'graphql-ws';
import WebSocket from 'ws';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';

import manifest from './gql/persisted-documents.json' with { type: 'json' };

/** Where the current session token comes from; asked again before every request and connect. */
export type TokenSource = () => string | undefined | Promise<string | undefined>;

export interface ClientOptions {
  /** The GraphQL endpoint, e.g. `http://localhost:8080/graphql`. */
  url: string;
  token?: TokenSource;
}

/**
 * A GraphQL error response. `code` is the first error's `extensions.code` (UNAUTHENTICATED,
 * BAD_USER_INPUT, NOT_FOUND, CONFLICT, RATE_LIMITED, ...), or `HTTP_<status>` when the server
 * answered without a GraphQL body.
 */
export class GraphQLRequestError extends Error {
  readonly code: string | undefined;
  readonly errors: readonly GraphQLFormattedError[];
  readonly status: number | undefined;

  constructor(errors: readonly GraphQLFormattedError[], status?: number, fallbackCode?: string) {
    const first = errors[0];
    const code = first?.extensions?.['code'];
    super(errors.map((e) => e.message).join('; ') || `GraphQL request failed (${fallbackCode ?? 'no errors'})`);
    this.name = 'GraphQLRequestError';
    this.code = typeof code === 'string' ? code : fallbackCode;
    this.errors = errors;
    this.status = status;
  }
}

const persisted: Readonly<Record<string, string>> = manifest;

/**
 * The text sent for a document. For a generated document it is the manifest's entry, which is
 * what the preset hashed: `print(document)` keeps the source's field order and layout, so its
 * sha256 would not match the allow-list key.
 */
export function documentText(document: TypedDocumentNode<unknown, never>): string {
  const hash = persistedHash(document);
  const text = hash === undefined ? undefined : persisted[hash];
  return text ?? print(document);
}

/** The `sha256:<hex>` key the preset embedded in a generated document, if any. */
export function persistedHash(document: TypedDocumentNode<unknown, never>): string | undefined {
  const meta: unknown = (document as { __meta__?: unknown }).__meta__;
  if (typeof meta === 'object' && meta !== null && 'hash' in meta && typeof meta.hash === 'string') {
    return meta.hash;
  }
  return undefined;
}

/** The manifest's entries whose key is not `sha256:` + sha256 hex of their text (none, we hope). */
export function mismatchedManifestEntries(): string[] {
  return Object.entries(persisted)
    .filter(([key, text]) => key !== `sha256:${createHash('sha256').update(text, 'utf8').digest('hex')}`)
    .map(([key]) => key);
}

export function manifestSize(): number {
  return Object.keys(persisted).length;
}

function operationName(document: TypedDocumentNode<unknown, never>): string | undefined {
  for (const d of document.definitions) {
    if (d.kind === 'OperationDefinition' && d.name) return d.name.value;
  }
  return undefined;
}

async function authorization(token: TokenSource | undefined): Promise<string | undefined> {
  const t = token ? await token() : undefined;
  return t ? `Bearer ${t}` : undefined;
}

/**
 * Runs a query or mutation over HTTP POST and returns its typed `data`; any error in the
 * response throws a {@link GraphQLRequestError} (partial data is not returned: a typed caller
 * would otherwise have to re-check every nullable path).
 */
export async function request<TData, TVariables extends Record<string, unknown>>(
  options: ClientOptions,
  document: TypedDocumentNode<TData, TVariables>,
  variables: TVariables,
  init: { signal?: AbortSignal } = {},
): Promise<TData> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'application/graphql-response+json, application/json',
  };
  const auth = await authorization(options.token);
  if (auth) headers['authorization'] = auth;
  const body = JSON.stringify({
    query: documentText(document),
    operationName: operationName(document),
    variables,
  });
  const response = await fetch(options.url, { method: 'POST', headers, body, signal: init.signal ?? null });
  let result: { data?: TData | null; errors?: GraphQLFormattedError[] } | undefined;
  try {
    result = (await response.json()) as typeof result;
  } catch {
    // Not a GraphQL body (a proxy's error page, an empty 502): reported by status below.
  }
  if (result?.errors?.length) {
    throw new GraphQLRequestError(result.errors, response.status);
  }
  if (!result || result.data === undefined || result.data === null) {
    throw new GraphQLRequestError([], response.status, `HTTP_${response.status}`);
  }
  return result.data;
}

/** Turns `http(s)://host/graphql` into `ws(s)://host/graphql`. */
export function webSocketUrl(httpUrl: string): string {
  const url = new URL(httpUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
}

export interface SubscriptionClient {
  /** The graphql-ws client (e.g. `terminate()` to drop the socket as a network failure would). */
  readonly ws: WsClient;
  /** Closes the socket and ends every subscription. */
  dispose(): Promise<void>;
}

/**
 * A graphql-ws client for the server's graphql-transport-ws endpoint. The token is fetched anew
 * on every connect and sent in `connection_init` as `{ authorization: "Bearer <token>" }`, so a
 * reconnect after the old token expired uses the fresh one.
 */
export function createSubscriptionClient(options: ClientOptions & { onConnected?: () => void }): SubscriptionClient {
  const ws = createClient({
    url: webSocketUrl(options.url),
    webSocketImpl: WebSocket,
    connectionParams: async () => {
      const auth = await authorization(options.token);
      return auth ? { authorization: auth } : {};
    },
    // graphql-ws would retry by re-sending each subscription with its original variables, which
    // replays a stream from its first cursor; `resumable` retries itself, from the last cursor.
    retryAttempts: 0,
    on: options.onConnected ? { connected: options.onConnected } : {},
  });
  return { ws, dispose: async () => await ws.dispose() };
}

// graphql-transport-ws close codes after which connecting again cannot help: a bad message, no
// `connection_init`, an unacceptable subprotocol, a duplicate id, a second init, a server or
// client bug, a message over the size cap.
const FATAL_CLOSE_CODES = new Set([1002, 1009, 4004, 4005, 4400, 4401, 4406, 4409, 4429, 4500]);

function closeCode(error: unknown): number | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error && 'reason' in error) {
    return typeof error.code === 'number' ? error.code : undefined;
  }
  return undefined;
}

function isGraphQLErrors(error: unknown): error is GraphQLFormattedError[] {
  return Array.isArray(error) && error.every((e) => typeof e === 'object' && e !== null && 'message' in e);
}

/** Whether a subscription's failure is the connection's (reconnect) rather than the operation's. */
function connectionLost(error: unknown): boolean {
  if (isGraphQLErrors(error) || error instanceof GraphQLRequestError) return false;
  const code = closeCode(error);
  // Anything else is the socket's: a network error, 1006 abnormal closure, 4499 terminated,
  // 4403 (a fresh token may be accepted), 4408 init timeout, 1001/1012 server going away.
  return code === undefined || !FATAL_CLOSE_CODES.has(code);
}

function describe(error: unknown): Error {
  if (error instanceof Error) return error;
  if (isGraphQLErrors(error)) return new GraphQLRequestError(error);
  const code = closeCode(error);
  if (code !== undefined) {
    const reason = (error as { reason?: unknown }).reason;
    return new Error(`WebSocket closed with ${code}: ${String(reason)}`);
  }
  return new Error(`subscription failed: ${String(error)}`);
}

export interface ResumableOptions {
  /** Called before each re-subscribe, with the cursor it resumes after (undefined: none yet). */
  onResume?: (after: string | undefined, attempt: number) => void;
  /** Reconnects in a row without receiving anything before giving up (default 8). */
  maxAttempts?: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Follows a resumable subscription (`executionLogs`, `leadEvents`, `leadStatusChanged`): yields
 * each event's data, remembers the cursor `cursorOf` reads from it, and when the connection is
 * lost re-subscribes with `after: <that cursor>`, so the stream continues with no gap and no
 * duplicate. Ends when the server completes the stream; GraphQL errors throw
 * {@link GraphQLRequestError}.
 *
 * Start `leadEvents` from a known cursor (`variables.after`) to be gapless from the start: without
 * one the server streams from "now", and a reconnect before the first event would skip events.
 */
export async function* resumable<TData, TVariables extends { after?: string | null | undefined }>(
  client: SubscriptionClient,
  document: TypedDocumentNode<TData, TVariables>,
  variables: TVariables,
  cursorOf: (data: TData) => string,
  options: ResumableOptions = {},
): AsyncGenerator<TData, void, undefined> {
  const query = documentText(document);
  let after = variables.after ?? undefined;
  let failures = 0;
  for (;;) {
    const vars: TVariables = after === undefined ? variables : { ...variables, after };
    const results = client.ws.iterate<TData>({ query, variables: vars });
    try {
      for await (const result of results) {
        // Typed as GraphQLError instances, but what arrives is their JSON form.
        const errors = result.errors as readonly GraphQLFormattedError[] | undefined;
        if (errors?.length) throw new GraphQLRequestError(errors);
        if (result.data === undefined || result.data === null) continue;
        after = cursorOf(result.data);
        failures = 0;
        yield result.data;
      }
      return;
    } catch (error) {
      failures += 1;
      if (!connectionLost(error) || failures > (options.maxAttempts ?? 8)) throw describe(error);
    }
    // Immediately the first time (a dropped socket is usually fine again at once), then backing
    // off so a restarting server is not hammered.
    if (failures > 1) await sleep(Math.min(100 * 2 ** failures, 5000) * (0.5 + Math.random() / 2));
    options.onResume?.(after, failures);
  }
}
