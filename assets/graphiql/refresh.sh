#!/usr/bin/env bash
# Rebuilds dist/ (committed, embedded in the binary by src/console.rs) from the pinned packages
# of package-lock.json: one minified graphiql.js, one graphiql.css, and LICENSES.md with the
# licence of every package that ends up in them. Run it after changing package.json or
# src/console.js, then commit dist/ and LICENSES.md; the server needs no Node to build.
set -euo pipefail
cd "$(dirname "$0")"

npm ci --no-audit --no-fund

rm -rf dist
mkdir -p dist
# An IIFE (no module loader, no chunks to fetch); production React; no source maps, so the page
# never asks for a .map file. The metafile lists the packages that were bundled, for the licences.
./node_modules/.bin/esbuild src/console.js \
  --bundle --minify --format=iife --target=es2020 \
  --define:process.env.NODE_ENV='"production"' \
  --legal-comments=none --charset=utf8 \
  --loader:.woff2=dataurl --loader:.woff=dataurl --loader:.png=dataurl --loader:.svg=dataurl \
  --metafile=node_modules/.meta.json \
  --outfile=dist/graphiql.js

node licenses.mjs node_modules/.meta.json > LICENSES.md

# The bundle must not point the browser anywhere else (fonts, CDNs, source maps).
if grep -Eo "(sourceMappingURL|@import|url\\([\"']?(https?:)?//)[^;)]*" dist/graphiql.css dist/graphiql.js; then
  echo "dist/ refers to another origin; see above" >&2
  exit 1
fi
ls -l dist
