// Command-line ONNX Runtime oracle for mopt's tests: runs, benchmarks and batch-checks ONNX models with onnxruntime-node.
'use strict';

const fs = require('fs');
const path = require('path');
const util = require('util');
const childProcess = require('child_process');
const npy = require('./npy');

const USAGE = `usage:
  node ort_run.js run MODEL.onnx --inputs IN.npz|DIR -o OUT.npz [--map NAME=KEY,..] [--opt-dump OPT.onnx] [--json]
  node ort_run.js bench MODEL.onnx --inputs IN.npz|DIR [--map NAME=KEY,..] [--warmup 5] [--iters 50]
  node ort_run.js suite MANIFEST.json -o RESULT.json [--no-isolate] [--verbose]
common options:
  --opt-level disabled|basic|extended|layout|all   ORT graph optimization level (ORT's default: all)
  --verbose                                         let ORT log warnings; suite: list every non-match
onnxruntime-node is loaded from $MOPT_ORT_DIR/node_modules (default <repo>/.cache/ort).`;

class UsageError extends Error {}

// ------------------------------------------------------------------------------------------------------------------
// ONNX Runtime access

let ortModule = null;
function loadOrt(verbose) {
  if (ortModule) return ortModule;
  const ortDir = process.env.MOPT_ORT_DIR || path.join(__dirname, '..', '..', '.cache', 'ort');
  const modPath = path.join(ortDir, 'node_modules', 'onnxruntime-node');
  try {
    ortModule = require(modPath);
  } catch (err) {
    throw new Error(`cannot load onnxruntime-node from ${modPath} (set MOPT_ORT_DIR): ${err.message.split('\n')[0]}`);
  }
  // Must be set before the first session creates ORT's environment. Without --verbose only fatal messages: ORT's
  // warnings (e.g. unused initializers) are noise, and its errors repeat what the results already report.
  ortModule.env.logLevel = verbose ? 'warning' : 'fatal';
  return ortModule;
}

// One thread each: the oracle must be deterministic and, on the 2-vCPU test machines, 2 threads are slower.
function sessionOptions(opts) {
  const o = {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionProviders: ['cpu'],
    logSeverityLevel: opts.verbose ? 2 : 4,
  };
  if (opts.optLevel) o.graphOptimizationLevel = opts.optLevel;
  if (opts.optDump) {
    o.graphOptimizationLevel = opts.optLevel || 'all';
    o.optimizedModelFilePath = opts.optDump;
  }
  return o;
}

// Types ORT's node binding can hand back. Its JS layer also names 'int4'/'uint4', but the native side of 1.30
// has no conversion for them (reading such an output indexes past its type table), so a session with such an
// output is refused before running rather than risking the process.
const RETURNABLE_TYPES = new Set([
  'float32', 'float64', 'float16', 'int8', 'int16', 'int32', 'int64',
  'uint8', 'uint16', 'uint32', 'uint64', 'bool', 'string',
]);

function checkOutputTypes(session) {
  for (const m of session.outputMetadata || []) {
    if (!m.isTensor) throw new Error(`output '${m.name}' is not a tensor; onnxruntime-node cannot return it`);
    if (!RETURNABLE_TYPES.has(m.type)) {
      throw new Error(`output '${m.name}' has type ${m.type}, which onnxruntime-node cannot return`);
    }
  }
}

function toOrtTensor(ort, name, arr) {
  try {
    return new ort.Tensor(arr.dtype, arr.data, arr.shape);
  } catch (err) {
    throw new Error(`input '${name}': ${err.message}`);
  }
}

// ORT tensor -> npy.js array. float16 becomes a Uint16Array view of its bits whatever ORT used to hold it.
function fromOrtTensor(t) {
  let { data } = t;
  if (t.type === 'float16' && !(data instanceof Uint16Array)) data = new Uint16Array(data.buffer, data.byteOffset, data.length);
  return { dtype: t.type, shape: Array.from(t.dims), data };
}

// Feeds must name exactly the session's inputs: a silently ignored or defaulted input would make a test meaningless.
function makeFeeds(ort, session, arrays) {
  const have = Object.keys(arrays);
  const missing = session.inputNames.filter((n) => !(n in arrays));
  const extra = have.filter((n) => !session.inputNames.includes(n));
  if (missing.length || extra.length) {
    const parts = [];
    if (missing.length) parts.push(`missing input(s) ${missing.map((n) => `'${n}'`).join(', ')}`);
    if (extra.length) parts.push(`unknown input(s) ${extra.map((n) => `'${n}'`).join(', ')}`);
    throw new Error(`${parts.join('; ')} (model inputs: ${session.inputNames.map((n) => `'${n}'`).join(', ') || 'none'})`);
  }
  const feeds = {};
  for (const n of session.inputNames) feeds[n] = toOrtTensor(ort, n, arrays[n]);
  return feeds;
}

async function runSession(session, feeds) {
  const out = await session.run(feeds);
  const arrays = {};
  for (const n of session.outputNames) arrays[n] = fromOrtTensor(out[n]);
  return arrays;
}

// ------------------------------------------------------------------------------------------------------------------
// Loading arrays

function readArrayFile(file) {
  try {
    return npy.readNpy(fs.readFileSync(file));
  } catch (err) {
    throw new Error(`${file}: ${err.message}`);
  }
}

// An .npz file, a directory of <name>.npy, or (manifest) an object {name: file.npy}.
function loadArrays(spec, baseDir = '.') {
  if (spec && typeof spec === 'object' && !Array.isArray(spec)) {
    const out = {};
    for (const [name, file] of Object.entries(spec)) {
      if (typeof file !== 'string') throw new Error(`array '${name}': path is not a string`);
      out[name] = readArrayFile(path.resolve(baseDir, file));
    }
    return out;
  }
  if (typeof spec !== 'string') throw new Error('arrays must be given as an .npz path, a directory or {name: path}');
  const p = path.resolve(baseDir, spec);
  if (fs.statSync(p).isDirectory()) {
    const out = {};
    for (const f of fs.readdirSync(p).sort()) {
      if (f.endsWith('.npy')) out[f.slice(0, -4)] = readArrayFile(path.join(p, f));
    }
    return out;
  }
  try {
    return npy.readNpz(fs.readFileSync(p));
  } catch (err) {
    throw new Error(`${p}: ${err.message}`);
  }
}

// ------------------------------------------------------------------------------------------------------------------
// Comparison

// float16 bits -> number, through a lazily built table (65536 entries; cheaper than decoding each element).
let halfTable = null;
function halfToFloatTable() {
  if (halfTable) return halfTable;
  halfTable = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    let v;
    if (exp === 0) v = frac * 2 ** -24;
    else if (exp === 31) v = frac ? NaN : Infinity;
    else v = (1 + frac / 1024) * 2 ** (exp - 15);
    halfTable[h] = sign * v;
  }
  return halfTable;
}

const FLOAT_TYPES = new Set(['float16', 'float32', 'float64']);

function sameShape(a, b) {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function fmtIndex(shape, flat) {
  const idx = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    idx.unshift(flat % shape[d]);
    flat = Math.floor(flat / shape[d]);
  }
  return `[${idx.join(',')}]`;
}

// numpy.allclose semantics: |a-e| <= atol + rtol*|e|, NaN equal to NaN, infinities equal only to themselves.
// Integer, bool and string tensors must match exactly. Returns {ok, maxAbs, message}.
function compareArray(name, act, exp, rtol, atol) {
  if (act.dtype !== exp.dtype) return { ok: false, maxAbs: null, message: `${name}: dtype ${act.dtype}, expected ${exp.dtype}` };
  if (!sameShape(act.shape, exp.shape)) {
    return { ok: false, maxAbs: null, message: `${name}: shape [${act.shape}], expected [${exp.shape}]` };
  }
  const n = act.data.length;
  const a = act.data;
  const e = exp.data;
  let bad = 0;
  let maxAbs = 0; // over all elements, as numpy's max(abs(a - e)) would report
  let nonFinite = false; // some mismatch has no finite difference (NaN vs number, inf vs other)
  let shown = -1; // the failing element the message shows: the one furthest outside its tolerance
  let shownExcess = -Infinity;
  const fail = (i, excess) => {
    bad++;
    if (excess > shownExcess) {
      shown = i;
      shownExcess = excess;
    }
  };
  if (FLOAT_TYPES.has(act.dtype)) {
    const tab = act.dtype === 'float16' ? halfToFloatTable() : null;
    for (let i = 0; i < n; i++) {
      const x = tab ? tab[a[i]] : a[i];
      const y = tab ? tab[e[i]] : e[i];
      if (x === y || (Number.isNaN(x) && Number.isNaN(y))) continue;
      if (!Number.isFinite(x) || !Number.isFinite(y)) {
        nonFinite = true;
        fail(i, Infinity);
        continue;
      }
      const d = Math.abs(x - y);
      if (d > maxAbs) maxAbs = d;
      const tol = atol + rtol * Math.abs(y);
      if (d > tol) fail(i, d - tol);
    }
  } else {
    const isBool = act.dtype === 'bool';
    for (let i = 0; i < n; i++) {
      // bool: numpy treats any non-zero byte as True.
      const x = isBool ? a[i] !== 0 : a[i];
      const y = isBool ? e[i] !== 0 : e[i];
      if (x === y) continue;
      let d = 1;
      if (typeof x === 'bigint' || typeof x === 'number') {
        d = Math.abs(Number(x) - Number(y));
        if (d > maxAbs) maxAbs = d;
      }
      fail(i, d);
    }
    if (isBool || act.dtype === 'string') maxAbs = null;
  }
  if (!bad) return { ok: true, maxAbs };
  const show = (arr, i) => {
    if (act.dtype === 'float16') return String(halfToFloatTable()[arr[i]]);
    if (act.dtype === 'bool') return arr[i] ? 'true' : 'false';
    return act.dtype === 'string' ? JSON.stringify(arr[i]) : String(arr[i]);
  };
  let message = `${name}: ${bad} of ${n} elements differ; worst at ${fmtIndex(act.shape, shown)}: got ${show(a, shown)}, expected ${show(e, shown)}`;
  if (nonFinite) message += '; NaN/inf mismatch';
  else if (maxAbs !== null) message += `; max_abs ${maxAbs}`;
  return { ok: false, maxAbs: nonFinite ? null : maxAbs, message };
}

// Pairs each expected array with a model output. Names first (mopt names expected files by graph output names);
// if they do not all match but the counts agree, fall back to position (expected in the manifest's order against
// the session's outputNames), as the ONNX backend test data numbers outputs output_0.pb, output_1.pb, ...
function pairOutputs(outputNames, expectedNames) {
  if (expectedNames.every((n) => outputNames.includes(n))) return { pairs: expectedNames.map((n) => [n, n]), byPosition: false };
  if (expectedNames.length === outputNames.length) {
    return { pairs: expectedNames.map((n, i) => [outputNames[i], n]), byPosition: true };
  }
  const unknown = expectedNames.filter((n) => !outputNames.includes(n));
  throw new Error(
    `expected output(s) ${unknown.map((n) => `'${n}'`).join(', ')} not among the model outputs ` +
      `${outputNames.map((n) => `'${n}'`).join(', ')}`,
  );
}

function compareOutputs(outputs, outputNames, expected, rtol, atol) {
  const expNames = Object.keys(expected);
  if (!expNames.length) return { status: 'ran' };
  let paired;
  try {
    paired = pairOutputs(outputNames, expNames);
  } catch (err) {
    return { status: 'mismatch', message: err.message };
  }
  const messages = [];
  let maxAbs = 0;
  for (const [outName, expName] of paired.pairs) {
    const r = compareArray(outName, outputs[outName], expected[expName], rtol, atol);
    if (!r.ok) messages.push(r.message);
    if (maxAbs !== null) maxAbs = r.maxAbs === null ? null : Math.max(maxAbs, r.maxAbs);
  }
  const res = { status: messages.length ? 'mismatch' : 'match' };
  if (maxAbs !== null) res.max_abs = maxAbs;
  if (paired.byPosition) res.matched_by = 'position';
  if (messages.length) res.message = messages.join(' | ');
  return res;
}

function rawBytes(data) {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

// Bit-identity between two models' outputs, in output order: same names, types, shapes and bytes (strings by value).
// Returns null when identical, else a sentence saying what differs.
function bitDifference(a, b) {
  const an = Object.keys(a);
  const bn = Object.keys(b);
  if (an.length !== bn.length || an.some((n, i) => n !== bn[i])) return `output names [${an}] vs [${bn}]`;
  for (const n of an) {
    const x = a[n];
    const y = b[n];
    if (x.dtype !== y.dtype) return `${n}: dtype ${x.dtype} vs ${y.dtype}`;
    if (!sameShape(x.shape, y.shape)) return `${n}: shape [${x.shape}] vs [${y.shape}]`;
    if (x.dtype === 'string') {
      const i = x.data.findIndex((s, k) => s !== y.data[k]);
      if (i >= 0) return `${n}: string ${fmtIndex(x.shape, i)} differs`;
    } else {
      const xb = rawBytes(x.data);
      const yb = rawBytes(y.data);
      if (!xb.equals(yb)) {
        let i = 0;
        while (xb[i] === yb[i]) i++;
        const k = Math.floor(i / x.data.BYTES_PER_ELEMENT);
        return `${n}: bytes differ, first at ${fmtIndex(x.shape, k)} (${x.data[k]} vs ${y.data[k]})`;
      }
    }
  }
  return null;
}

// ------------------------------------------------------------------------------------------------------------------
// Suite: one case

// Runs every model of a case and compares. `onModel(key, result)` reports each model as soon as it is done, so that
// a parent process knows which model was running if ORT takes the process down.
async function runCase(ort, c, defaults, opts, onModel = () => {}) {
  const { baseDir } = defaults;
  const models = c && typeof c === 'object' && c.models && typeof c.models === 'object' ? Object.entries(c.models) : [];
  if (!c || typeof c.name !== 'string' || !models.length) {
    throw new Error('case needs a string "name" and a non-empty "models" object');
  }
  const res = { name: c.name, results: {}, identical: null };
  const rtol = typeof c.rtol === 'number' ? c.rtol : defaults.rtol;
  const atol = typeof c.atol === 'number' ? c.atol : defaults.atol;

  // Read once, shared by all models; a bad file is the harness's fault, so it gets status "error", not run_error.
  let inputs = null;
  let expected = null;
  let dataError = null;
  try {
    inputs = loadArrays(c.inputs || {}, baseDir);
    expected = loadArrays(c.expected || {}, baseDir);
  } catch (err) {
    dataError = err.message;
  }

  const outputs = {};
  for (const [key, modelFile] of models) {
    let r;
    let session = null;
    try {
      session = await ort.InferenceSession.create(path.resolve(baseDir, String(modelFile)), sessionOptions(opts));
    } catch (err) {
      r = { status: 'load_error', message: err.message };
    }
    if (session) {
      try {
        if (dataError) {
          r = { status: 'error', message: dataError };
        } else {
          let outs;
          try {
            checkOutputTypes(session);
            outs = await runSession(session, makeFeeds(ort, session, inputs));
          } catch (err) {
            r = { status: 'run_error', message: err.message };
          }
          if (outs) {
            outputs[key] = outs;
            r = compareOutputs(outs, session.outputNames, expected, rtol, atol);
          }
        }
      } finally {
        // Free the native session now rather than whenever V8 collects the wrapper: over ~2000 sessions native
        // memory would otherwise pile up.
        await session.release().catch(() => {});
      }
    }
    res.results[key] = r;
    onModel(key, r);
  }

  // Bit-identity needs a pair of models, and only means something when every model produced outputs.
  if (models.length > 1 && models.every(([key]) => outputs[key])) {
    const [firstKey] = models[0];
    let diff = null;
    for (const [key] of models.slice(1)) {
      const d = bitDifference(outputs[firstKey], outputs[key]);
      if (d) {
        diff = `${firstKey} vs ${key}: ${d}`;
        break;
      }
    }
    res.identical = diff === null;
    if (diff) res.identical_message = diff;
  }
  return res;
}

// ------------------------------------------------------------------------------------------------------------------
// Suite: the batch

function readManifest(file) {
  let m;
  try {
    m = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`manifest ${file}: ${err.message}`);
  }
  if (!m || !Array.isArray(m.cases)) throw new Error(`manifest ${file}: expected {"cases": [...]}`);
  return {
    cases: m.cases,
    // Relative paths in the manifest are relative to the manifest, so a manifest and its data can move together.
    defaults: {
      baseDir: path.dirname(path.resolve(file)),
      rtol: typeof m.rtol === 'number' ? m.rtol : 1e-3, // the ONNX backend tests' defaults
      atol: typeof m.atol === 'number' ? m.atol : 1e-7,
    },
  };
}

function caseName(c, i) {
  return c && typeof c.name === 'string' ? c.name : `#${i}`;
}

// A case that could not be run at all (malformed entry): reported on the case, with no per-model results.
function harnessError(c, i, message) {
  return { name: caseName(c, i), results: {}, identical: null, error: message };
}

// In-process: simplest, but a native crash in ORT ends the whole batch.
async function runCasesInProcess(cases, defaults, opts) {
  const ort = loadOrt(opts.verbose);
  const results = [];
  for (let i = 0; i < cases.length; i++) {
    try {
      results.push(await runCase(ort, cases[i], defaults, opts));
    } catch (err) {
      results.push(harnessError(cases[i], i, err.message));
    }
  }
  return results;
}

// Isolated (default): cases run one at a time in a single child process. If ORT kills it (abort, segfault), the
// case in flight is recorded as "crash" and a fresh child carries on with the next case; the cost is one extra
// process plus an IPC message per case.
function runCasesIsolated(cases, defaults, opts) {
  return new Promise((resolve, reject) => {
    const results = new Array(cases.length);
    let next = 0;
    let child = null;
    let current = -1;
    let partial = {};

    // A send to a child that just died must not throw: its 'close' handler deals with the death.
    const send = (msg) => child.send(msg, () => {});
    const startChild = () => {
      child = childProcess.fork(__filename, ['__suite-worker'], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      child.on('message', onMessage);
      // 'close' rather than 'exit': it comes after the IPC channel is drained, so a model result sent just before
      // a crash is not lost.
      child.on('close', onClose);
      child.on('error', (err) => {
        if (child.pid === undefined) reject(err); // could not start at all
      });
      send({ type: 'init', defaults, opts });
    };
    const sendNext = () => {
      if (next >= cases.length) {
        child.removeListener('close', onClose);
        child.disconnect(); // the idle worker then exits by itself
        resolve(results);
        return;
      }
      current = next++;
      partial = {};
      send({ type: 'case', index: current, case: cases[current] });
    };
    function onMessage(msg) {
      if (msg.type === 'ready') sendNext();
      else if (msg.type === 'model' && msg.index === current) partial[msg.key] = msg.result;
      else if (msg.type === 'done' && msg.index === current) {
        results[current] = msg.result;
        current = -1;
        sendNext();
      }
    }
    function onClose(code, signal) {
      if (current < 0) {
        reject(new Error(`suite worker exited unexpectedly (code ${code}, signal ${signal})`));
        return;
      }
      const how = signal ? `signal ${signal}` : `exit code ${code}`;
      const c = cases[current];
      const res = { name: caseName(c, current), results: {}, identical: null };
      let blamed = false;
      for (const key of Object.keys((c && c.models) || {})) {
        if (partial[key]) {
          res.results[key] = partial[key];
        } else {
          res.results[key] = { status: 'crash', message: blamed ? 'not run: the worker died on an earlier model' : `ORT process died (${how})` };
          blamed = true;
        }
      }
      results[current] = res;
      current = -1;
      startChild();
    }
    startChild();
  });
}

// Child side of runCasesIsolated.
function suiteWorker() {
  let ort = null;
  let defaults = null;
  let opts = null;
  process.on('message', async (msg) => {
    if (msg.type === 'init') {
      ({ defaults, opts } = msg);
      ort = loadOrt(opts.verbose);
      process.send({ type: 'ready' });
      return;
    }
    if (msg.type !== 'case') return;
    const { index } = msg;
    let result;
    try {
      result = await runCase(ort, msg.case, defaults, opts, (key, r) => process.send({ type: 'model', index, key, result: r }));
    } catch (err) {
      result = harnessError(msg.case, index, err.message);
    }
    process.send({ type: 'done', index, result });
  });
}

function summarize(results, seconds) {
  const status = {};
  const identical = { true: 0, false: 0, null: 0 };
  let errors = 0;
  for (const r of results) {
    if (r.error) errors++;
    for (const [key, m] of Object.entries(r.results)) {
      status[key] = status[key] || {};
      status[key][m.status] = (status[key][m.status] || 0) + 1;
    }
    identical[String(r.identical)]++;
  }
  return { cases: results.length, case_errors: errors, seconds: Math.round(seconds * 100) / 100, status, identical };
}

async function cmdSuite(args) {
  const { values, positionals } = parse(args, {
    output: { type: 'string', short: 'o' },
    'no-isolate': { type: 'boolean' },
  });
  if (positionals.length !== 1 || !values.output) throw new UsageError('suite needs MANIFEST.json and -o RESULT.json');
  const opts = commonOpts(values);
  const { cases, defaults } = readManifest(positionals[0]);
  loadOrt(opts.verbose); // fail here, clearly, rather than in every worker
  const t0 = process.hrtime.bigint();
  const results = values['no-isolate']
    ? await runCasesInProcess(cases, defaults, opts)
    : await runCasesIsolated(cases, defaults, opts);
  const summary = summarize(results, Number(process.hrtime.bigint() - t0) / 1e9);
  fs.writeFileSync(values.output, `${JSON.stringify({ cases: results, summary }, null, 1)}\n`);
  if (opts.verbose) {
    for (const r of results) {
      if (r.error) console.error(`${r.name}: ${r.error}`);
      for (const [key, m] of Object.entries(r.results)) {
        if (m.status !== 'match' && m.status !== 'ran') console.error(`${r.name} [${key}] ${m.status}: ${m.message || ''}`);
      }
      if (r.identical === false) console.error(`${r.name}: not bit-identical: ${r.identical_message}`);
    }
  }
  console.log(JSON.stringify(summary, null, 1));
}

// ------------------------------------------------------------------------------------------------------------------
// run / bench

function parse(args, options) {
  try {
    return util.parseArgs({
      args,
      allowPositionals: true,
      options: { ...options, 'opt-level': { type: 'string' }, verbose: { type: 'boolean' } },
    });
  } catch (err) {
    throw new UsageError(err.message);
  }
}

const OPT_LEVELS = ['disabled', 'basic', 'extended', 'layout', 'all'];

function commonOpts(values) {
  const optLevel = values['opt-level'];
  if (optLevel !== undefined && !OPT_LEVELS.includes(optLevel)) {
    throw new UsageError(`--opt-level must be one of ${OPT_LEVELS.join(', ')}`);
  }
  return { optLevel, verbose: !!values.verbose };
}

function elapsedMs(t0) {
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

async function cmdRun(args) {
  const { values, positionals } = parse(args, {
    inputs: { type: 'string' },
    output: { type: 'string', short: 'o' },
    'opt-dump': { type: 'string' },
    json: { type: 'boolean' },
    map: { type: 'string' },
  });
  if (positionals.length !== 1 || !values.inputs || !values.output) {
    throw new UsageError('run needs MODEL.onnx, --inputs IN.npz|DIR and -o OUT.npz');
  }
  const opts = { ...commonOpts(values), optDump: values['opt-dump'] };
  const ort = loadOrt(opts.verbose);
  const arrays = loadArrays(values.inputs);
  let t0 = process.hrtime.bigint();
  const session = await ort.InferenceSession.create(positionals[0], sessionOptions(opts));
  const loadMs = elapsedMs(t0);
  checkOutputTypes(session);
  const feeds = makeFeeds(ort, session, applyMap(arrays, values.map, session));
  t0 = process.hrtime.bigint();
  const outs = await runSession(session, feeds);
  const runMs = elapsedMs(t0);
  await session.release();
  fs.writeFileSync(values.output, npy.writeNpz(outs));
  if (values.json) {
    const outputs = Object.fromEntries(Object.entries(outs).map(([n, a]) => [n, { dtype: a.dtype, shape: a.shape }]));
    console.log(JSON.stringify({ load_ms: round3(loadMs), run_ms: round3(runMs), outputs }));
  }
}

// --map input=x_img,other=y: feed array KEY to graph input NAME (data sets name arrays their own
// way, e.g. samples/digits_test.npz holds x, x_img and y). Unmapped arrays not named after an
// input are dropped so a data set can carry labels beside the inputs.
function applyMap(arrays, spec, session) {
  if (!spec) return arrays;
  const out = {};
  for (const pair of spec.split(',')) {
    const [name, key] = pair.split('=');
    if (!name || !key) throw new UsageError(`--map entries look like NAME=KEY, got '${pair}'`);
    if (!(key in arrays)) throw new UsageError(`--map: no array '${key}' (have: ${Object.keys(arrays).join(', ')})`);
    out[name] = arrays[key];
  }
  for (const n of session.inputNames) if (!(n in out) && n in arrays) out[n] = arrays[n];
  return out;
}

function round3(x) {
  return Math.round(x * 1000) / 1000;
}

// numpy.percentile's default (linear interpolation between closest ranks).
function percentile(sorted, p) {
  const pos = (sorted.length - 1) * p;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

function intOption(values, name, dflt, min) {
  if (values[name] === undefined) return dflt;
  const v = Number(values[name]);
  if (!Number.isInteger(v) || v < min) throw new UsageError(`--${name} must be an integer >= ${min}`);
  return v;
}

async function cmdBench(args) {
  const { values, positionals } = parse(args, {
    inputs: { type: 'string' },
    warmup: { type: 'string' },
    iters: { type: 'string' },
    map: { type: 'string' },
  });
  if (positionals.length !== 1 || !values.inputs) throw new UsageError('bench needs MODEL.onnx and --inputs IN.npz|DIR');
  const warmup = intOption(values, 'warmup', 5, 0);
  const iters = intOption(values, 'iters', 50, 1);
  const opts = commonOpts(values);
  const ort = loadOrt(opts.verbose);
  const session = await ort.InferenceSession.create(positionals[0], sessionOptions(opts));
  checkOutputTypes(session);
  const feeds = makeFeeds(ort, session, applyMap(loadArrays(values.inputs), values.map, session));
  for (let i = 0; i < warmup; i++) await session.run(feeds);
  const times = [];
  for (let i = 0; i < iters; i++) {
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    times.push(elapsedMs(t0));
  }
  await session.release();
  times.sort((a, b) => a - b);
  const mean = times.reduce((s, t) => s + t, 0) / times.length;
  console.log(JSON.stringify({
    p50_ms: round3(percentile(times, 0.5)),
    p90_ms: round3(percentile(times, 0.9)),
    mean_ms: round3(mean),
    min_ms: round3(times[0]),
    iters,
    warmup,
  }));
}

// ------------------------------------------------------------------------------------------------------------------

async function main(argv) {
  const [cmd, ...rest] = argv;
  if (cmd === '__suite-worker') return suiteWorker();
  const commands = { run: cmdRun, bench: cmdBench, suite: cmdSuite };
  if (cmd === '-h' || cmd === '--help') {
    console.log(USAGE);
    return undefined;
  }
  if (!commands[cmd]) throw new UsageError(cmd ? `unknown command '${cmd}'` : 'no command given');
  return commands[cmd](rest);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err) => {
    if (err instanceof UsageError) {
      console.error(`ort_run: ${err.message}\n${USAGE}`);
      process.exit(2);
    }
    console.error(`ort_run: ${err.message}`);
    process.exit(1);
  });
}

module.exports = { compareArray, pairOutputs, bitDifference, percentile };
