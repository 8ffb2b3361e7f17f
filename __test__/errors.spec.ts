/** The error catalogue is the one list of codes: the native core's codes and the README's table agree with it. */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { errorCodes } from '../index';
import { README, withSections } from '../scripts/docs';
import { ERROR_CATALOGUE, LinearError, isErrorCode } from '../src/errors';
import { fromNative } from '../src/native';

test('every code the native core can report is in the catalogue', (t) => {
  const native = errorCodes();
  t.true(native.length >= 10, `only ${native.length} native codes`);
  t.deepEqual(native.filter((code) => !isErrorCode(code)), []);
});

test("the README's failure table is the catalogue (npm run docs regenerates it)", (t) => {
  const readme = readFileSync(README, 'utf8');
  t.is(readme, withSections(readme));
  for (const code of Object.keys(ERROR_CATALOGUE)) t.regex(readme, new RegExp(`\\| \`${code}\` \\|`));
});

test('a native error keeps its code, kind, status and exit code; an unknown code is internal', (t) => {
  const known = t.throws(() => fromNative(new Error('RAGGED_ROW: a.csv line 3 has 2 columns')), { instanceOf: LinearError });
  t.like(known, { code: 'RAGGED_ROW', kind: 'user', status: 400, exitCode: 2, message: 'a.csv line 3 has 2 columns' });
  const unknown = t.throws(() => fromNative(new Error('NEW_THING: details')), { instanceOf: LinearError });
  t.like(unknown, { code: 'INTERNAL_ERROR', kind: 'internal', status: 500, exitCode: 1 });
  t.regex(unknown.message, /NEW_THING/);
  const media = new LinearError('UNSUPPORTED_CONTENT_TYPE', 'x');
  t.is(media.status, 415);
});
