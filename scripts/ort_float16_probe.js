#!/usr/bin/env node
// Session probe for scripts/measure_ort_float16.py: creates an ONNX Runtime CPU session for each
// model of a manifest, runs it once, writes its outputs and ORT's optimized graph, and reports per
// model whether that worked. One line of JSON per model is appended to the result file as soon
// as it is known, so the driver can tell which model took the process down if ORT crashes.
//
//   node ort_float16_probe.js MANIFEST.json RESULT.jsonl [--start K]
//
// MANIFEST: {"cases": [{"id", "model", "inputs" (.npz), "outputs" (.npz to write), "optimized"
// (.onnx to write)}]}. Runs with one thread, graph optimizations at level "basic" (so the
// optimized graph still shows the nodes we wrote, plus any Cast ORT had to insert).
'use strict';
const fs = require('fs');
const path = require('path');
const npy = require(path.join(__dirname, '..', 'tests', 'ort', 'npy.js'));

const ortDir = process.env.MOPT_ORT_DIR || path.join(__dirname, '..', '.cache', 'ort');
const ort = require(path.join(ortDir, 'node_modules', 'onnxruntime-node'));
ort.env.logLevel = 'fatal';

async function probe(c) {
  const opts = {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionProviders: ['cpu'],
    logSeverityLevel: 4,
    graphOptimizationLevel: 'basic',
    optimizedModelFilePath: c.optimized,
  };
  let session;
  try {
    session = await ort.InferenceSession.create(c.model, opts);
  } catch (err) {
    return { status: 'load_error', message: err.message.split('\n')[0] };
  }
  try {
    const arrays = npy.readNpz(fs.readFileSync(c.inputs));
    const feeds = {};
    for (const n of session.inputNames) {
      const a = arrays[n];
      if (!a) return { status: 'error', message: `no data for input ${n}` };
      feeds[n] = new ort.Tensor(a.dtype, a.data, a.shape);
    }
    const out = await session.run(feeds);
    const res = {};
    for (const n of session.outputNames) {
      const t = out[n];
      let { data } = t;
      if (t.type === 'float16' && !(data instanceof Uint16Array)) data = new Uint16Array(data.buffer, data.byteOffset, data.length);
      res[n] = { dtype: t.type, shape: Array.from(t.dims), data };
    }
    fs.writeFileSync(c.outputs, npy.writeNpz(res));
    return { status: 'ran' };
  } catch (err) {
    return { status: 'run_error', message: err.message.split('\n')[0] };
  } finally {
    await session.release().catch(() => {});
  }
}

async function main() {
  const [manifestFile, resultFile, ...rest] = process.argv.slice(2);
  const start = rest[0] === '--start' ? Number(rest[1]) : 0;
  const { cases } = JSON.parse(fs.readFileSync(manifestFile, 'utf8'));
  for (let i = start; i < cases.length; i++) {
    fs.appendFileSync(resultFile, JSON.stringify({ index: i, id: cases[i].id, status: 'started' }) + '\n');
    const r = await probe(cases[i]);
    fs.appendFileSync(resultFile, JSON.stringify({ index: i, id: cases[i].id, ...r }) + '\n');
  }
}

main().catch((err) => {
  console.error(err.stack || String(err));
  process.exit(1);
});
