// Every ```graphql block of README.md and docs/*.md must parse and validate against
// schema.graphql: the guide's examples are meant to be pasted, so one that drifted from the schema
// is a bug. Usage: node docs-examples.mjs [<repository root>] (default: two folders up).
// Prints one line per file and `N graphql examples valid`; exits 1 listing file:line and the
// errors of every block that fails.
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { buildSchema, parse, validate } from 'graphql';

const root = resolve(process.argv[2] ?? join(fileURLToPath(import.meta.url), '..', '..', '..'));
const schema = buildSchema(readFileSync(join(root, 'schema.graphql'), 'utf8'));

const docsDir = join(root, 'docs');
const files = [join(root, 'README.md')];
if (existsSync(docsDir)) {
  for (const name of readdirSync(docsDir).sort()) {
    if (name.endsWith('.md')) files.push(join(docsDir, name));
  }
}

/** The ```graphql blocks of a Markdown text, each with the 1-based line of its first line. */
function graphqlBlocks(text) {
  const blocks = [];
  const lines = text.split('\n');
  let open = null;
  for (const [index, line] of lines.entries()) {
    if (open === null) {
      // An info string may follow the language (```graphql title="…"); other languages are skipped.
      const fence = /^(\s*)(`{3,}|~{3,})graphql(\s.*)?$/i.exec(line);
      if (fence) open = { fence: fence[2], start: index + 2, body: [] };
    } else if (line.trim().startsWith(open.fence) && line.trim().replace(/[`~]/g, '') === '') {
      blocks.push({ line: open.start, source: open.body.join('\n') });
      open = null;
    } else {
      open.body.push(line);
    }
  }
  if (open !== null) blocks.push({ line: open.start, source: null });
  return blocks;
}

const failures = [];
let valid = 0;
const summary = [];
for (const file of files) {
  const name = relative(root, file);
  const blocks = graphqlBlocks(readFileSync(file, 'utf8'));
  for (const block of blocks) {
    const where = (offset = 1) => `${name}:${block.line + offset - 1}`;
    if (block.source === null) {
      failures.push(`${where()}: the block is never closed`);
      continue;
    }
    let document;
    try {
      document = parse(block.source);
    } catch (error) {
      failures.push(`${where(error.locations?.[0]?.line)}: ${error.message}`);
      continue;
    }
    const errors = validate(schema, document);
    if (errors.length > 0) {
      for (const error of errors) failures.push(`${where(error.locations?.[0]?.line)}: ${error.message}`);
      continue;
    }
    valid += 1;
  }
  summary.push(`${name}: ${blocks.length} graphql examples`);
}

for (const line of summary) console.log(line);
if (failures.length > 0) {
  console.error(`${failures.length} problems in the graphql examples:`);
  for (const failure of failures) console.error(`  ${failure}`);
  process.exit(1);
}
console.log(`${valid} graphql examples valid`);
