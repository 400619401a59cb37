// The GraphQL-over-HTTP audit of graphql-http (`serverAudits`) against the server at argv[2]:
// prints each audit's name and status, and exits non-zero on any failure or warning.
import { serverAudits } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs <graphql url>');
  process.exit(2);
}
let failures = 0;
let warnings = 0;
for (const audit of serverAudits({ url, fetchFn: fetch })) {
  const result = await audit.fn();
  console.log(`${result.status.padEnd(5)} ${audit.id} ${audit.name}`);
  if (result.status !== 'ok') {
    console.log(`      ${result.reason}`);
    if (result.response) {
      console.log(`      status ${result.response.status}, content-type ${result.response.headers.get('content-type')}`);
    }
  }
  if (result.status === 'error') failures += 1;
  if (result.status === 'warn') warnings += 1;
}
console.log(`${failures} failures, ${warnings} warnings`);
process.exit(failures + warnings === 0 ? 0 : 1);
