#!/usr/bin/env node
// Deterministic CSV training data for the multi-host tests and bench:
//
//   node scripts/gen-csv.js [--p P] [--seed S] DIR NAME:ROWS [NAME:ROWS ...]
//
// Writes DIR/NAME for each NAME:ROWS (ROWS may end in k or M, e.g. 400k; or
// NAME:=SIZE with SIZE in bytes ending in MB/GB, e.g. big.csv:=150MB, writes
// rows until the file reaches that size). Each file has the header
// y,x1,...,xP and then ROWS rows, label first: y = 1.5 + sum_j c_j x_j + noise,
// c_j = (-1)^j (j + 0.5) / 2, x_j uniform in [-10, 10), noise uniform in
// [-0.5, 0.5). The values come from one seeded xorshift generator running
// through the files in the order given, so the same arguments give the same
// bytes on any machine. Prints "NAME ROWS BYTES" per file.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const args = process.argv.slice(2);
let p = 3;
let seed = 1;
while (args.length > 0 && args[0].startsWith('--')) {
  const flag = args.shift();
  const value = Number(args.shift());
  if (flag === '--p') p = value;
  else if (flag === '--seed') seed = value;
  else throw new Error(`unknown option ${flag}`);
}
const dir = args.shift();
if (!dir || args.length === 0 || !(p >= 1)) {
  process.stderr.write('usage: node scripts/gen-csv.js [--p P] [--seed S] DIR NAME:ROWS|NAME:=SIZE ...\n');
  process.exit(2);
}

// xorshift64* on BigInt would be slow: two 32-bit xorshift128 states instead.
let s0 = (seed * 2654435761) >>> 0 || 1;
let s1 = 362436069;
let s2 = 521288629;
let s3 = 88675123;
function next() { // uniform in [0, 1), 32 bits
  const t = s0 ^ (s0 << 11);
  s0 = s1; s1 = s2; s2 = s3;
  s3 = (s3 ^ (s3 >>> 19) ^ (t ^ (t >>> 8))) >>> 0;
  return s3 / 4294967296;
}
for (let i = 0; i < 16; i++) next();

const coef = Array.from({ length: p }, (_, j) => ((j % 2 === 0 ? 1 : -1) * (j + 1.5)) / 2);
const header = `y,${Array.from({ length: p }, (_, j) => `x${j + 1}`).join(',')}\n`;

function count(spec) {
  const m = /^(\d+(?:\.\d+)?)([kM]?)$/.exec(spec);
  if (!m) throw new Error(`bad row count ${spec}`);
  return Math.round(Number(m[1]) * { '': 1, k: 1e3, M: 1e6 }[m[2]]);
}
function size(spec) {
  const m = /^(\d+(?:\.\d+)?)(MB|GB)$/.exec(spec);
  if (!m) throw new Error(`bad size ${spec}`);
  return Math.round(Number(m[1]) * { MB: 1e6, GB: 1e9 }[m[2]]);
}

function row() {
  let y = 1.5;
  let line = '';
  for (let j = 0; j < p; j++) {
    const x = Math.round((next() * 20 - 10) * 1e4) / 1e4;
    y += coef[j] * x;
    line += `,${x}`;
  }
  y += next() - 0.5;
  return `${Math.round(y * 1e6) / 1e6}${line}\n`;
}

fs.mkdirSync(dir, { recursive: true });
for (const spec of args) {
  const colon = spec.lastIndexOf(':');
  const name = spec.slice(0, colon);
  const amount = spec.slice(colon + 1);
  const byBytes = amount.startsWith('=');
  const limit = byBytes ? size(amount.slice(1)) : count(amount);
  const fd = fs.openSync(path.join(dir, name), 'w');
  let bytes = 0;
  let rows = 0;
  let chunk = header;
  for (;;) {
    if (byBytes ? bytes + chunk.length >= limit : rows >= limit) break;
    if (chunk.length > 1 << 20) {
      fs.writeSync(fd, chunk);
      bytes += chunk.length;
      chunk = '';
    }
    chunk += row();
    rows++;
  }
  fs.writeSync(fd, chunk);
  bytes += chunk.length;
  fs.closeSync(fd);
  process.stdout.write(`${name} ${rows} ${bytes}\n`);
}
