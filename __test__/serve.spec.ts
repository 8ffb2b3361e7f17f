/**
 * The real server on a loopback port: content types, Accept, Linear
 * Learner's JSON shapes, named features, CSV headers, intervals, every error
 * status, /execution-parameters, a 6 MiB body, load, and SIGTERM draining.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { makeMlTree, runCli, type MlTree } from './helpers/ml-tree';
import { startServer, type RunningServer } from './helpers/server';

const MIB = 1024 * 1024;

let tree: MlTree;
let server: RunningServer;
let model: {
  intercept: number;
  coefficients: number[];
  prediction: { center: number[] };
  inference: { parameters: number[]; covariance_factor: number[]; sigma2: number; df_resid: number };
};

/** price = 10 + 2 area - 3 rooms + noise: 23 rows, so 20 residual degrees of freedom. */
function trainingCsv(): string {
  const rows = ['price,area,rooms'];
  for (let i = 0; i < 23; i++) {
    const area = 50 + 3 * i;
    const rooms = 1 + (i % 4);
    rows.push(`${10 + 2 * area - 3 * rooms + (((i * 37) % 11) - 5) / 4},${area},${rooms}`);
  }
  return `${rows.join('\n')}\n`;
}

function expected(area: number, rooms: number): number {
  return model.intercept + model.coefficients[0] * area + model.coefficients[1] * rooms;
}

test.before(async () => {
  tree = await makeMlTree({ channels: { train: { 'houses.csv': trainingCsv() } } });
  const trained = await runCli(['train'], { root: tree.root });
  if (trained.code !== 0) throw new Error(trained.stderr);
  model = JSON.parse(readFileSync(tree.modelFile, 'utf8'));
  server = await startServer(tree.root);
});

test.after.always(async () => {
  await server?.stop();
});

async function invoke(body: string | Buffer, headers: Record<string, string>) {
  const res = await fetch(`${server.url}/invocations`, { method: 'POST', body, headers });
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
}

const close = (a: number, b: number, tolerance = 1e-9) => Math.abs(a - b) <= tolerance * Math.max(1, Math.abs(b));

test('GET /ping answers 200 once the model is loaded', async (t) => {
  const res = await fetch(`${server.url}/ping`);
  t.is(res.status, 200);
});

test('the bundled example scores 31 for a CSV body of 10', async (t) => {
  const example = await makeMlTree({ channels: { train: { 't.csv': '1.0,0.0\n4.0,1.0\n7.0,2.0\n10.0,3.0\n13.0,4.0\n16.0,5.0\n' } } }, t);
  t.is((await runCli(['train'], { root: example.root })).code, 0);
  const started = Date.now();
  const own = await startServer(example.root);
  t.teardown(() => own.stop());
  const ping = await fetch(`${own.url}/ping`);
  t.is(ping.status, 200);
  t.log(`serve start to first /ping 200: ${Date.now() - started} ms`);
  const res = await fetch(`${own.url}/invocations`, { method: 'POST', body: '10', headers: { 'Content-Type': 'text/csv' } });
  t.deepEqual(await res.json(), { predictions: [{ score: 31 }] });
});

const BODIES: Record<string, [string, string]> = {
  csv: ['text/csv; charset=utf-8', '60,2\n70,3\n'],
  json: ['application/json', JSON.stringify({ instances: [{ features: [60, 2] }, { features: [70, 3] }] })],
  jsonlines: ['application/jsonlines', '[60,2]\n{"features":[70,3]}\n'],
};

for (const [bodyName, [contentType, body]] of Object.entries(BODIES)) {
  test(`${bodyName} bodies answer in every Accept type, in input order`, async (t) => {
    const scores = [expected(60, 2), expected(70, 3)];
    const json = await invoke(body, { 'Content-Type': contentType });
    t.is(json.status, 200, json.text);
    t.is(json.type, 'application/json');
    const parsed = JSON.parse(json.text) as { predictions: { score: number }[] };
    parsed.predictions.forEach((p, i) => t.true(close(p.score, scores[i]), `${p.score} vs ${scores[i]}`));
    const lines = await invoke(body, { 'Content-Type': contentType, Accept: 'application/jsonlines' });
    t.is(lines.type, 'application/jsonlines');
    t.deepEqual(lines.text.trim().split('\n').map((l) => JSON.parse(l).score), parsed.predictions.map((p) => p.score));
    const csv = await invoke(body, { 'Content-Type': contentType, Accept: 'text/csv' });
    t.is(csv.type, 'text/csv');
    t.deepEqual(csv.text.trim().split('\n').map(Number), parsed.predictions.map((p) => p.score));
  });
}

test("Linear Learner's JSON shapes, plain rows and named features all score the same", async (t) => {
  const score = expected(60, 2);
  for (const body of [
    { instances: [{ features: [60, 2] }] },
    { instances: [{ data: { features: { values: [60, 2] } } }] },
    { instances: [{ data: { features: { keys: [0, 1], shape: [2], values: [60, 2] } } }] },
    { instances: [[60, 2]] },
    [[60, 2]],
    { instances: [{ rooms: 2, area: 60 }] },
  ]) {
    const res = await invoke(JSON.stringify(body), { 'Content-Type': 'application/json' });
    t.is(res.status, 200, res.text);
    t.true(close(JSON.parse(res.text).predictions[0].score, score), JSON.stringify(body));
  }
});

test('a CSV header is mapped by feature name; a label column needs label_size=1', async (t) => {
  const reordered = await invoke('rooms,area\n2,60\n', { 'Content-Type': 'text/csv', Accept: 'text/csv' });
  t.true(close(Number(reordered.text), expected(60, 2)), reordered.text);
  const withLabel = await invoke('999,60,2\n', { 'Content-Type': 'text/csv; label_size=1', Accept: 'text/csv' });
  t.true(close(Number(withLabel.text), expected(60, 2)));
  const unannounced = await invoke('999,60,2\n', { 'Content-Type': 'text/csv' });
  t.is(unannounced.status, 400);
  t.like(JSON.parse(unannounced.text), { code: 'FEATURE_COUNT_MISMATCH' });
  t.regex(JSON.parse(unannounced.text).message, /body line 1 has 3 columns.*label_size=1/);
});

test('prediction intervals match the textbook one-feature formulas and t table values, asked in the body, the Accept header or custom attributes', async (t) => {
  // Simple regression, computed here from the training data alone (not from model.json):
  // the standard error of the mean prediction at x0 is s·√(1/n + (x0 − x̄)²/Sxx), with
  // s² = RSS/(n − 2); a new observation adds s² under the root.
  const xs = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13];
  const noise = [0.3, -0.2, 0.5, -0.4, 0.1, -0.6, 0.2, 0.4, -0.3, 0, -0.1, 0.25];
  const ys = xs.map((x, i) => 4 + 1.5 * x + noise[i]);
  const n = xs.length; // 12 rows, 2 parameters: 10 residual degrees of freedom
  const mean = (v: number[]) => v.reduce((acc, a) => acc + a, 0) / v.length;
  const [xbar, ybar] = [mean(xs), mean(ys)];
  const sxx = xs.reduce((acc, x) => acc + (x - xbar) ** 2, 0);
  const slope = xs.reduce((acc, x, i) => acc + (x - xbar) * (ys[i] - ybar), 0) / sxx;
  const intercept = ybar - slope * xbar;
  const s2 = xs.reduce((acc, x, i) => acc + (ys[i] - intercept - slope * x) ** 2, 0) / (n - 2);
  const x0 = 20; // well outside the data, so the (x0 − x̄)² term dominates
  const se = Math.sqrt(s2 * (1 / n + (x0 - xbar) ** 2 / sxx));
  // Student's t table, 10 degrees of freedom: t(0.975) = 2.228138852, t(0.95) = 1.812461123.
  const [t975, t95] = [2.228138852, 1.812461123];

  const csv = `y,x\n${xs.map((x, i) => `${ys[i]},${x}`).join('\n')}\n`;
  const simple = await makeMlTree({ channels: { train: { 'line.csv': csv } } }, t);
  const trained = await runCli(['train'], { root: simple.root });
  t.is(trained.code, 0, trained.stderr);
  const own = await startServer(simple.root);
  t.teardown(() => own.stop());
  const ask = async (body: string, headers: Record<string, string>) => {
    const res = await fetch(`${own.url}/invocations`, { method: 'POST', body, headers });
    return { status: res.status, text: await res.text() };
  };

  const body = JSON.stringify({ instances: [[x0]], configuration: { intervals: 0.95 } });
  const res = await ask(body, { 'Content-Type': 'application/json' });
  t.is(res.status, 200, res.text);
  const p = JSON.parse(res.text).predictions[0];
  t.true(close(p.score, intercept + slope * x0, 1e-12), `${p.score} vs ${intercept + slope * x0}`);
  t.true(close(p.standard_error, se, 1e-9), `${p.standard_error} vs ${se}`);
  t.true(close(p.confidence_lower, p.score - t975 * se, 1e-9), `${p.confidence_lower}`);
  t.true(close(p.confidence_upper, p.score + t975 * se, 1e-9), `${p.confidence_upper}`);
  const newObservation = Math.sqrt(s2 + se * se);
  t.true(close(p.prediction_lower, p.score - t975 * newObservation, 1e-9), `${p.prediction_lower}`);
  t.true(close(p.prediction_upper, p.score + t975 * newObservation, 1e-9), `${p.prediction_upper}`);

  const viaAccept = await ask(`${x0}\n`, { 'Content-Type': 'text/csv', Accept: 'text/csv; intervals=0.95' });
  t.deepEqual(viaAccept.text.trim().split(',').map(Number), [p.score, p.standard_error, p.confidence_lower, p.confidence_upper, p.prediction_lower, p.prediction_upper]);
  const viaAttributes = await ask(`[${x0}]\n`, { 'Content-Type': 'application/jsonlines', 'X-Amzn-SageMaker-Custom-Attributes': 'intervals=0.9' });
  const narrow = JSON.parse(viaAttributes.text).predictions[0];
  t.true(close(narrow.confidence_upper - narrow.score, t95 * se, 1e-9), `${narrow.confidence_upper - narrow.score} vs ${t95 * se}`);
  const bad = await ask(body.replace('0.95', '1.5'), { 'Content-Type': 'application/json' });
  t.is(bad.status, 400);
  t.like(JSON.parse(bad.text), { code: 'INVALID_INTERVALS' });
});

test('bad bodies are 400s that name the row and column', async (t) => {
  const cases: [string, string, string, RegExp][] = [
    ['text/csv', '60,2\n70\n', 'FEATURE_COUNT_MISMATCH', /body line 2 has 1 columns but the model has 2 feature/],
    ['text/csv', '60,2,1\n70,3,1\n', 'FEATURE_COUNT_MISMATCH', /body line 1 has 3 columns, one more than the model's 2 feature/],
    ['text/csv', '60,2\n70,abc\n', 'NON_NUMERIC_VALUE', /body line 2, column 2: 'abc'/],
    ['text/csv', '60,NaN\n', 'NON_FINITE_VALUE', /body line 1, column 2: 'NaN'/],
    ['text/csv', '1,2,3,4\n', 'FEATURE_COUNT_MISMATCH', /4 columns but the model has 2 feature/],
    ['application/json', '{"instances": [[60, 2], [70]]}', 'FEATURE_COUNT_MISMATCH', /instance 2: has 1 values/],
    ['application/json', '{"instances": [[60, "x"]]}', 'NON_NUMERIC_VALUE', /instance 1: feature 2 is "x"/],
    ['application/json', '{"instances": [[60, 2]', 'MALFORMED_JSON', /not valid JSON \(line 1, column/],
    ['application/json', '{"instances": [{"area": 60, "bedrooms": 2}]}', 'UNKNOWN_FEATURE', /'bedrooms' is not a feature/],
    ['application/jsonlines', '[60,2]\n[70,\n', 'MALFORMED_JSON', /record 2 is not valid JSON/],
    ['text/csv', '', 'EMPTY_REQUEST', /no rows/],
  ];
  for (const [contentType, body, code, message] of cases) {
    const res = await invoke(body, { 'Content-Type': contentType });
    t.is(res.status, 400, `${body}: ${res.text}`);
    const error = JSON.parse(res.text);
    t.is(error.code, code, body);
    t.regex(error.message, message);
  }
});

test('415 for an unsupported content type, 406 for an unsupported Accept, 404 and 405 for other routes', async (t) => {
  const unsupported = await invoke('x', { 'Content-Type': 'image/png' });
  t.is(unsupported.status, 415);
  t.regex(JSON.parse(unsupported.text).message, /text\/csv, application\/json, application\/jsonlines, text\/libsvm, application\/x-recordio-protobuf/);
  const notAcceptable = await invoke('60,2', { 'Content-Type': 'text/csv', Accept: 'image/png' });
  t.is(notAcceptable.status, 406);
  t.is((await fetch(`${server.url}/predict`)).status, 404);
  const wrongMethod = await fetch(`${server.url}/invocations`);
  t.is(wrongMethod.status, 405);
  t.is(wrongMethod.headers.get('allow'), 'POST');
  t.is((await fetch(`${server.url}/ping`, { method: 'POST' })).status, 405);
  t.regex(server.logs(), /POST \/invocations 415 UNSUPPORTED_CONTENT_TYPE/);
});

test('GET /execution-parameters describes batch transform limits and every content type', async (t) => {
  const res = await fetch(`${server.url}/execution-parameters`);
  const params = (await res.json()) as Record<string, unknown>;
  t.is(params.BatchStrategy, 'MULTI_RECORD');
  t.is(params.MaxPayloadInMB, 6);
  t.true(Number(params.MaxConcurrentTransforms) >= 1);
  t.deepEqual(params.SupportedContentTypes, ['text/csv', 'application/json', 'application/jsonlines', 'text/libsvm', 'application/x-recordio-protobuf']);
  t.deepEqual(params.SupportedResponseMIMETypes, ['text/csv', 'application/json', 'application/jsonlines', 'application/x-recordio-protobuf']);
});

test('a 6 MiB CSV body is scored in full; one byte more is 413', async (t) => {
  const row = '60.25,2\n';
  const rows = Math.floor((6 * MIB) / row.length);
  const body = Buffer.alloc(6 * MIB, ' ');
  body.write(row.repeat(rows));
  const res = await invoke(body, { 'Content-Type': 'text/csv', Accept: 'text/csv' });
  t.is(res.status, 200);
  const lines = res.text.trim().split('\n');
  t.is(lines.length, rows);
  t.true(close(Number(lines[rows - 1]), expected(60.25, 2)));
  const over = await invoke(Buffer.concat([body, Buffer.from('\n')]), { 'Content-Type': 'text/csv' });
  t.is(over.status, 413);
  t.like(JSON.parse(over.text), { code: 'PAYLOAD_TOO_LARGE' });
});

test('SAGEMAKER_MAX_PAYLOAD_IN_MB sets the limit for batch transform', async (t) => {
  const own = await startServer(tree.root, { SAGEMAKER_MAX_PAYLOAD_IN_MB: '1' });
  t.teardown(() => own.stop());
  const params = (await (await fetch(`${own.url}/execution-parameters`)).json()) as Record<string, unknown>;
  t.is(params.MaxPayloadInMB, 1);
  const res = await fetch(`${own.url}/invocations`, { method: 'POST', body: '60,2\n'.repeat(MIB / 4), headers: { 'Content-Type': 'text/csv' } });
  t.is(res.status, 413);
});

test('1,000 requests at 50 concurrent all succeed', async (t) => {
  let next = 0;
  let failures = 0;
  const worker = async () => {
    while (next < 1000) {
      const i = next++;
      const res = await invoke(`${50 + (i % 40)},${1 + (i % 4)}`, { 'Content-Type': 'text/csv', Accept: 'text/csv' });
      if (res.status !== 200 || !close(Number(res.text), expected(50 + (i % 40), 1 + (i % 4)))) failures++;
    }
  };
  await Promise.all(Array.from({ length: 50 }, worker));
  t.is(failures, 0);
});

test('SIGTERM drains an in-flight request before exiting', async (t) => {
  const own = await startServer(tree.root);
  const { port } = new URL(own.url);
  const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/invocations', headers: { 'Content-Type': 'text/csv', Accept: 'text/csv', 'Content-Length': 12 } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.write('60,2\n');
    setTimeout(() => {
      own.child.kill('SIGTERM');
      setTimeout(() => req.end('70,3\n\n\n'), 300);
    }, 200);
  });
  const answered = await response;
  t.is(answered.status, 200);
  t.is(answered.body.trim().split('\n').length, 2);
  t.is(await own.stop(), 0);
  t.regex(own.logs(), /stopped: all in-flight requests finished/);
});

test('serve without a model, or with a corrupt one, fails at startup', async (t) => {
  const empty = await makeMlTree({}, t);
  const missing = await runCli(['serve'], { root: empty.root });
  t.is(missing.code, 2);
  t.regex(missing.stderr, /MODEL_NOT_FOUND: no model at .*model\.json; run train first/);
  const corrupt = await makeMlTree({ model: '{"format": "linear-model"' }, t);
  const invalid = await runCli(['serve'], { root: corrupt.root });
  t.is(invalid.code, 2);
  t.regex(invalid.stderr, /MODEL_INVALID/);
});

test('SIGTERM closes idle keep-alive connections at once and exits 0', async (t) => {
  const own = await startServer(tree.root);
  const port = Number(new URL(own.url).port);
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  socket.write('POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\nContent-Length: 2\r\n\r\n10');
  await once(socket, 'data');
  const closed = once(socket, 'close');
  const sent = Date.now();
  t.is(await own.stop(), 0);
  await closed;
  t.true(Date.now() - sent < 2_000, `took ${Date.now() - sent} ms with an idle keep-alive connection open`);
});

test('SIGTERM during a request on a keep-alive connection: the request is answered, then the process exits 0 at once', async (t) => {
  const own = await startServer(tree.root);
  const port = Number(new URL(own.url).port);
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  // The body arrives in two parts: SIGTERM comes between them.
  socket.write('POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\nContent-Length: 4\r\n\r\n60,');
  await new Promise((resolve) => setTimeout(resolve, 200));
  own.child.kill('SIGTERM');
  await new Promise((resolve) => setTimeout(resolve, 200));
  const answer = once(socket, 'data');
  const closed = once(socket, 'close');
  socket.write('2');
  t.regex(String((await answer)[0]), /^HTTP\/1\.1 200 /);
  const sent = Date.now();
  t.is(await own.stop(), 0);
  await closed;
  t.true(Date.now() - sent < 2_000, `exited ${Date.now() - sent} ms after the answer`);
});
