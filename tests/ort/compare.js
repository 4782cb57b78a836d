#!/usr/bin/env node
// Compares the arrays of two .npz files (outputs of two models on the same inputs); exit 1 when
// they differ beyond the given tolerance. Optionally reports top-1 accuracy against labels.
//
//   node compare.js A.npz B.npz [--exact] [--atol 1e-5] [--rtol 1e-4] [--labels D.npz:y]
'use strict';
const fs = require('fs');
const path = require('path');
const util = require('util');
const npy = require(path.join(__dirname, 'npy.js'));

function toNumbers(a) {
  if (a.dtype === 'float16') throw new Error('compare float16 via --exact only');
  return Array.from(a.data, Number);
}

function accuracy(logits, labels) {
  const [n, k] = logits.shape;
  const x = toNumbers(logits);
  const y = toNumbers(labels);
  let correct = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < k; j++) if (x[i * k + j] > x[i * k + best]) best = j;
    if (best === y[i]) correct++;
  }
  return correct / n;
}

function main() {
  const { values, positionals } = util.parseArgs({
    args: process.argv.slice(2),
    allowPositionals: true,
    options: { exact: { type: 'boolean' }, atol: { type: 'string' }, rtol: { type: 'string' }, labels: { type: 'string' } },
  });
  if (positionals.length !== 2) throw new Error('usage: compare.js A.npz B.npz [--exact] [--atol x] [--rtol y] [--labels D.npz:key]');
  const a = npy.readNpz(fs.readFileSync(positionals[0]));
  const b = npy.readNpz(fs.readFileSync(positionals[1]));
  const atol = Number(values.atol ?? 1e-5), rtol = Number(values.rtol ?? 1e-4);
  let ok = true;
  const report = {};
  // Pair arrays by name; when the names differ (a model converted from TorchScript names its
  // outputs output_i) but the counts agree, pair them by position.
  const namesA = Object.keys(a), namesB = Object.keys(b);
  const byName = namesA.every((n) => n in b);
  for (let i = 0; i < namesA.length; i++) {
    const name = namesA[i];
    const other = byName ? name : namesB[i];
    if (!byName && namesA.length !== namesB.length) { report[name] = 'missing in B'; ok = false; continue; }
    const x = a[name], y = b[other];
    if (JSON.stringify(x.shape) !== JSON.stringify(y.shape) || x.dtype !== y.dtype) {
      report[name] = `shape/dtype ${x.dtype}${JSON.stringify(x.shape)} vs ${y.dtype}${JSON.stringify(y.shape)}`;
      ok = false;
      continue;
    }
    if (values.exact) {
      const same = Buffer.compare(Buffer.from(x.data.buffer, x.data.byteOffset, x.data.byteLength),
                                  Buffer.from(y.data.buffer, y.data.byteOffset, y.data.byteLength)) === 0;
      report[name] = same ? 'identical' : 'different bits';
      ok = ok && same;
      continue;
    }
    const xs = toNumbers(x), ys = toNumbers(y);
    let maxAbs = 0, bad = 0;
    for (let i = 0; i < xs.length; i++) {
      const d = Math.abs(xs[i] - ys[i]);
      if (!(d <= atol + rtol * Math.abs(ys[i])) && !(Number.isNaN(xs[i]) && Number.isNaN(ys[i]))) bad++;
      if (d > maxAbs) maxAbs = d;
    }
    report[name] = { max_abs: maxAbs, outside_tolerance: bad };
    ok = ok && bad === 0;
  }
  if (values.labels) {
    const [file, key] = values.labels.split(':');
    const labels = npy.readNpz(fs.readFileSync(file))[key];
    const first = Object.keys(a)[0];
    report.accuracy = { A: accuracy(a[first], labels), B: accuracy(b[Object.keys(b)[0]], labels) };
  }
  console.log(JSON.stringify(report));
  process.exit(ok ? 0 : 1);
}

try {
  main();
} catch (e) {
  console.error(`compare: ${e.message}`);
  process.exit(2);
}
