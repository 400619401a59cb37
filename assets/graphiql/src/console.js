// The GraphiQL console's entry point, bundled by refresh.sh into dist/graphiql.{js,css}.
//
// Everything the page needs comes from the server that served it: the fetcher and the
// subscription socket are same-origin, and the settings (default query and headers) come from
// the page itself, so the Rust side can change them without rebuilding this bundle.

import { createElement } from 'react';
import { createRoot } from 'react-dom/client';
import { GraphiQL } from 'graphiql';
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import 'graphiql/style.css';

const settings = JSON.parse(document.getElementById('console-settings').textContent);

const http = new URL('/graphql', location.href);
const ws = new URL('/graphql', location.href);
ws.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';

// The toolkit opens a graphql-ws client per subscription with the headers editor's current
// headers as `connectionParams`, which is where the server reads `Authorization` from (the
// browser WebSocket API cannot set request headers). A fresh client per subscription also means
// a token pasted after the first subscription is used by the next one.
const fetcher = createGraphiQLFetcher({ url: http.href, subscriptionUrl: ws.href });

// The headers editor starts with an example Authorization header. Sent as is, the server would
// refuse every request, signIn included, so an untouched placeholder counts as no header.
function withoutPlaceholder(headers) {
  if (!headers) return headers;
  return Object.fromEntries(Object.entries(headers).filter(([, value]) => value !== settings.placeholderAuthorization));
}

function consoleFetcher(params, options) {
  return fetcher(params, { ...options, headers: withoutPlaceholder(options?.headers) });
}

createRoot(document.getElementById('graphiql')).render(
  createElement(GraphiQL, {
    fetcher: consoleFetcher,
    defaultQuery: settings.defaultQuery,
    defaultHeaders: settings.defaultHeaders,
    isHeadersEditorEnabled: true,
    shouldPersistHeaders: true,
    defaultEditorToolsVisibility: 'headers',
  }),
);
