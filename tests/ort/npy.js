// Reads and writes NumPy .npy/.npz files so the ONNX Runtime oracle (ort_run.js) can exchange tensors with numpy and mopt.
//
// An array is {dtype, shape, data}:
//   dtype - ONNX Runtime tensor type name: 'float16' 'float32' 'float64' 'int8' 'int16' 'int32' 'int64'
//           'uint8' 'uint16' 'uint32' 'uint64' 'bool' 'string'. These names are what onnxruntime-node's
//           Tensor takes, so arrays go to and from ORT without a translation table at every call site.
//   shape - array of non-negative integers ([] for a scalar).
//   data  - typed array in C order (float16 keeps its raw bits in a Uint16Array, bool is a Uint8Array of 0/1,
//           int64/uint64 are BigInt64Array/BigUint64Array); for 'string' a JS array of strings.
'use strict';

const zlib = require('zlib');

// kind+itemsize of a numpy descr -> our dtype. One table drives both reading and writing.
const NUMERIC = {
  f2: { dtype: 'float16', Ctor: Uint16Array },
  f4: { dtype: 'float32', Ctor: Float32Array },
  f8: { dtype: 'float64', Ctor: Float64Array },
  i1: { dtype: 'int8', Ctor: Int8Array },
  i2: { dtype: 'int16', Ctor: Int16Array },
  i4: { dtype: 'int32', Ctor: Int32Array },
  i8: { dtype: 'int64', Ctor: BigInt64Array },
  u1: { dtype: 'uint8', Ctor: Uint8Array },
  u2: { dtype: 'uint16', Ctor: Uint16Array },
  u4: { dtype: 'uint32', Ctor: Uint32Array },
  u8: { dtype: 'uint64', Ctor: BigUint64Array },
  b1: { dtype: 'bool', Ctor: Uint8Array },
};
const DTYPE_TO_CODE = Object.fromEntries(Object.entries(NUMERIC).map(([code, v]) => [v.dtype, code]));

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // "\x93NUMPY"

function numel(shape) {
  return shape.reduce((a, b) => a * b, 1);
}

// ---------------------------------------------------------------------------------------------------------------
// .npy header: a Python dict literal. A tiny recursive-descent parser (instead of regexes) so that any malformed
// header gives an Error naming the problem rather than a TypeError somewhere downstream.

function parsePyLiteral(text) {
  let pos = 0;
  const fail = (what) => {
    throw new Error(`npy: malformed header: ${what} at offset ${pos} in ${JSON.stringify(text.slice(0, 200))}`);
  };
  const skipWs = () => {
    while (pos < text.length && /\s/.test(text[pos])) pos++;
  };
  const value = () => {
    skipWs();
    const c = text[pos];
    if (c === undefined) fail('unexpected end');
    if (c === '{') return container('{', '}', true);
    if (c === '(') return container('(', ')', false);
    if (c === '[') return container('[', ']', false);
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, pos + 1);
      if (end < 0) fail('unterminated string');
      const s = text.slice(pos + 1, end);
      pos = end + 1;
      return s;
    }
    const m = /^(True|False|None|[+-]?\d+L?)/.exec(text.slice(pos));
    if (!m) fail(`unexpected character ${JSON.stringify(c)}`);
    pos += m[0].length;
    if (m[0] === 'True') return true;
    if (m[0] === 'False') return false;
    if (m[0] === 'None') return null;
    return Number(m[0].replace('L', '')); // 'L': Python 2 long in old version-1.0 files
  };
  const container = (open, close, isDict) => {
    pos++; // opening bracket
    const out = isDict ? {} : [];
    for (;;) {
      skipWs();
      if (text[pos] === close) {
        pos++;
        return out;
      }
      if (isDict) {
        const k = value();
        if (typeof k !== 'string') fail('dict key is not a string');
        skipWs();
        if (text[pos] !== ':') fail("expected ':'");
        pos++;
        out[k] = value();
      } else {
        out.push(value());
      }
      skipWs();
      if (text[pos] === ',') pos++;
      else if (text[pos] !== close) fail(`expected ',' or '${close}'`);
    }
  };
  const v = value();
  skipWs();
  if (pos !== text.length) fail('trailing characters');
  return v;
}

// descr string -> {dtype, code, itemsize, littleEndian, isString, bytesString}
function parseDescr(descr) {
  if (typeof descr !== 'string') {
    throw new Error(`npy: unsupported descr ${JSON.stringify(descr)} (structured dtypes are not supported)`);
  }
  const m = /^([<>|=]?)([a-zA-Z])(\d*)$/.exec(descr);
  if (!m) throw new Error(`npy: malformed descr '${descr}'`);
  const [, order, kind, nStr] = m;
  if (kind === 'O') throw new Error("npy: object arrays ('O', pickled) are not supported; save strings as '<U'");
  if (nStr === '') throw new Error(`npy: unsupported dtype '${descr}'`);
  const n = Number(nStr);
  // '=' is native order; numpy only ever runs little-endian here, and never writes '=' to files anyway.
  const littleEndian = order !== '>';
  if (kind === 'U') {
    // numpy unicode: n UCS-4 code units per element.
    return { dtype: 'string', itemsize: 4 * n, littleEndian, isString: true, bytesString: false };
  }
  if (kind === 'S' || kind === 'a') {
    // numpy bytes string: decoded as UTF-8, since ONNX string tensors are UTF-8.
    return { dtype: 'string', itemsize: n, littleEndian, isString: true, bytesString: true };
  }
  const code = kind + nStr;
  const info = NUMERIC[code];
  if (!info) throw new Error(`npy: unsupported dtype '${descr}'`);
  if (order === '|' && n > 1) throw new Error(`npy: descr '${descr}' has no byte order but a multi-byte item`);
  return { dtype: info.dtype, code, itemsize: n, littleEndian, isString: false };
}

// Fortran-ordered data -> C order: step through C-order indices like an odometer, tracking the Fortran offset.
function fortranToC(src, shape) {
  const n = numel(shape);
  const out = Array.isArray(src) ? new Array(n) : new src.constructor(n);
  const nd = shape.length;
  const fstride = new Array(nd);
  let s = 1;
  for (let d = 0; d < nd; d++) {
    fstride[d] = s;
    s *= shape[d];
  }
  const idx = new Array(nd).fill(0);
  let f = 0; // fortran offset of idx
  for (let i = 0; i < n; i++) {
    out[i] = src[f];
    for (let d = nd - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) {
        f += fstride[d];
        break;
      }
      f -= fstride[d] * (shape[d] - 1);
      idx[d] = 0;
    }
  }
  return out;
}

function readNpy(buffer) {
  if (!Buffer.isBuffer(buffer)) buffer = Buffer.from(buffer);
  if (buffer.length < 10 || !buffer.subarray(0, 6).equals(MAGIC)) throw new Error('npy: not a .npy file (bad magic)');
  const major = buffer[6];
  let headerLen;
  let headerStart;
  if (major === 1) {
    headerLen = buffer.readUInt16LE(8);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (buffer.length < 12) throw new Error('npy: truncated header');
    headerLen = buffer.readUInt32LE(8);
    headerStart = 12;
  } else {
    throw new Error(`npy: unsupported format version ${major}.${buffer[7]}`);
  }
  const dataStart = headerStart + headerLen;
  if (dataStart > buffer.length) throw new Error('npy: truncated header');
  // Version 3.0 exists only to allow UTF-8 in the header (field names); 1.0/2.0 are latin1.
  const header = buffer.toString(major === 3 ? 'utf8' : 'latin1', headerStart, dataStart);
  const dict = parsePyLiteral(header.trim());
  if (dict === null || typeof dict !== 'object' || Array.isArray(dict)) throw new Error('npy: header is not a dict');
  for (const key of ['descr', 'fortran_order', 'shape']) {
    if (!(key in dict)) throw new Error(`npy: header lacks '${key}'`);
  }
  const { shape } = dict;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new Error(`npy: bad shape ${JSON.stringify(shape)}`);
  }
  if (typeof dict.fortran_order !== 'boolean') throw new Error('npy: fortran_order is not a bool');
  const d = parseDescr(dict.descr);
  const n = numel(shape);
  const nbytes = n * d.itemsize;
  if (buffer.length - dataStart < nbytes) {
    throw new Error(`npy: truncated data (need ${nbytes} bytes, have ${buffer.length - dataStart})`);
  }
  const raw = buffer.subarray(dataStart, dataStart + nbytes);

  let data;
  if (d.isString) {
    data = new Array(n);
    for (let i = 0; i < n; i++) {
      const item = raw.subarray(i * d.itemsize, (i + 1) * d.itemsize);
      let s;
      if (d.bytesString) {
        s = item.toString('utf8');
      } else {
        const cps = [];
        for (let j = 0; j < item.length; j += 4) {
          const cp = d.littleEndian ? item.readUInt32LE(j) : item.readUInt32BE(j);
          if (cp > 0x10ffff) throw new Error(`npy: invalid code point ${cp} in string element ${i}`);
          cps.push(cp);
        }
        s = String.fromCodePoint(...cps);
      }
      data[i] = s.replace(/\0+$/, ''); // numpy pads with NULs and strips them the same way
    }
  } else {
    // Copy into a fresh ArrayBuffer: the input Buffer may sit at an offset that is not aligned for the typed array.
    const ab = new ArrayBuffer(nbytes);
    const bytes = Buffer.from(ab); // a view on ab, not a copy
    raw.copy(bytes);
    if (!d.littleEndian && d.itemsize > 1) {
      if (d.itemsize === 2) bytes.swap16();
      else if (d.itemsize === 4) bytes.swap32();
      else bytes.swap64();
    }
    data = new NUMERIC[d.code].Ctor(ab);
  }
  if (dict.fortran_order && shape.length > 1) data = fortranToC(data, shape);
  return { dtype: d.dtype, shape: shape.slice(), data };
}

// Accepts plain JS arrays as a convenience for tests; typed arrays of the right kind are used as they are.
function toTyped(dtype, data) {
  if (dtype === 'string') {
    if (!Array.isArray(data) || !data.every((s) => typeof s === 'string')) {
      throw new Error('npy: string data must be an array of strings');
    }
    return data;
  }
  const code = DTYPE_TO_CODE[dtype];
  if (!code) throw new Error(`npy: unsupported dtype '${dtype}'`);
  const { Ctor } = NUMERIC[code];
  if (data instanceof Ctor) return data;
  // float16 may arrive as a Float16Array (newer JS engines, and ORT outputs there): keep its bits.
  if (dtype === 'float16' && ArrayBuffer.isView(data) && data.constructor.name === 'Float16Array') {
    return new Uint16Array(data.buffer, data.byteOffset, data.length);
  }
  if (ArrayBuffer.isView(data) || Array.isArray(data)) {
    if (dtype === 'float16') throw new Error('npy: float16 data must be a Uint16Array of raw bits');
    const big = dtype === 'int64' || dtype === 'uint64';
    return Ctor.from(data, big ? (v) => BigInt(v) : (v) => Number(v));
  }
  throw new Error(`npy: data for '${dtype}' must be an array`);
}

function writeNpy(arr) {
  if (!arr || typeof arr !== 'object') throw new Error('npy: writeNpy expects {dtype, shape, data}');
  const { dtype } = arr;
  const shape = arr.shape || [];
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new Error(`npy: bad shape ${JSON.stringify(shape)}`);
  }
  const n = numel(shape);
  const data = toTyped(dtype, arr.data);
  if (data.length !== n) throw new Error(`npy: data has ${data.length} elements, shape ${JSON.stringify(shape)} needs ${n}`);

  let descr;
  let body;
  if (dtype === 'string') {
    const cps = data.map((s) => Array.from(s, (ch) => ch.codePointAt(0)));
    const width = cps.reduce((w, c) => Math.max(w, c.length), 1); // numpy never makes '<U0'
    descr = `<U${width}`;
    body = Buffer.alloc(n * width * 4);
    cps.forEach((c, i) => c.forEach((cp, j) => body.writeUInt32LE(cp, (i * width + j) * 4)));
  } else {
    const code = DTYPE_TO_CODE[dtype];
    descr = (code[1] === '1' ? '|' : '<') + code;
    body = Buffer.from(data.buffer, data.byteOffset, data.byteLength); // x86 and arm64 are little-endian
  }
  const shapeStr = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeStr}, }`;
  // numpy pads with spaces and a final '\n' so that the data starts at a multiple of 64 bytes.
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  if (header.length > 65535) throw new Error('npy: header too long for format 1.0');
  const pre = Buffer.alloc(10);
  MAGIC.copy(pre, 0);
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  return Buffer.concat([pre, Buffer.from(header, 'latin1'), body]);
}

// ---------------------------------------------------------------------------------------------------------------
// .npz: a zip of .npy files. Only what numpy writes is needed: stored or deflated entries, maybe with zip64
// extra fields (numpy's savez forces zip64 on every entry's local header).

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

function crc32(buf) {
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_EOCD64 = 0x06064b50;
const SIG_EOCD64_LOC = 0x07064b50;

function readU64(buf, off) {
  const v = buf.readBigUInt64LE(off);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error('npz: zip64 value too large');
  return Number(v);
}

function findEocd(buf) {
  // The EOCD record is 22 bytes plus a comment of at most 65535 bytes, so search backwards from the end.
  const stop = Math.max(0, buf.length - 22 - 65535);
  for (let i = buf.length - 22; i >= stop; i--) {
    if (buf.readUInt32LE(i) === SIG_EOCD) return i;
  }
  throw new Error('npz: not a zip file (no end-of-central-directory record)');
}

function readNpz(buffer) {
  if (!Buffer.isBuffer(buffer)) buffer = Buffer.from(buffer);
  if (buffer.length < 22) throw new Error('npz: file too short to be a zip');
  const eocd = findEocd(buffer);
  let count = buffer.readUInt16LE(eocd + 10);
  let cdSize = buffer.readUInt32LE(eocd + 12);
  let cdOffset = buffer.readUInt32LE(eocd + 16);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    // zip64: a locator just before the EOCD points at the zip64 EOCD record holding the real values.
    const loc = eocd - 20;
    if (loc < 0 || buffer.readUInt32LE(loc) !== SIG_EOCD64_LOC) throw new Error('npz: zip64 locator missing');
    const rec = readU64(buffer, loc + 8);
    if (rec + 56 > buffer.length || buffer.readUInt32LE(rec) !== SIG_EOCD64) throw new Error('npz: bad zip64 EOCD');
    count = readU64(buffer, rec + 32);
    cdSize = readU64(buffer, rec + 40);
    cdOffset = readU64(buffer, rec + 48);
  }
  if (cdOffset + cdSize > buffer.length) throw new Error('npz: central directory is outside the file');

  const out = {};
  let p = cdOffset;
  for (let e = 0; e < count; e++) {
    if (p + 46 > buffer.length || buffer.readUInt32LE(p) !== SIG_CENTRAL) throw new Error('npz: bad central directory entry');
    const flags = buffer.readUInt16LE(p + 8);
    const method = buffer.readUInt16LE(p + 10);
    const crc = buffer.readUInt32LE(p + 16);
    let csize = buffer.readUInt32LE(p + 20);
    let usize = buffer.readUInt32LE(p + 24);
    const nameLen = buffer.readUInt16LE(p + 28);
    const extraLen = buffer.readUInt16LE(p + 30);
    const commentLen = buffer.readUInt16LE(p + 32);
    let localOff = buffer.readUInt32LE(p + 42);
    const name = buffer.toString(flags & 0x800 ? 'utf8' : 'latin1', p + 46, p + 46 + nameLen);
    // zip64 extra (id 1) holds, in this order, only those fields whose 32-bit slot is 0xffffffff.
    let x = p + 46 + nameLen;
    const xEnd = x + extraLen;
    while (x + 4 <= xEnd) {
      const id = buffer.readUInt16LE(x);
      const len = buffer.readUInt16LE(x + 2);
      if (id === 1) {
        let q = x + 4;
        if (usize === 0xffffffff) { usize = readU64(buffer, q); q += 8; }
        if (csize === 0xffffffff) { csize = readU64(buffer, q); q += 8; }
        if (localOff === 0xffffffff) { localOff = readU64(buffer, q); q += 8; }
      }
      x += 4 + len;
    }
    p = xEnd + commentLen;

    if (flags & 1) throw new Error(`npz: entry '${name}' is encrypted`);
    if (localOff + 30 > buffer.length || buffer.readUInt32LE(localOff) !== SIG_LOCAL) {
      throw new Error(`npz: bad local header for '${name}'`);
    }
    // The local header's name/extra lengths may differ from the central directory's, so read its own.
    const dataOff = localOff + 30 + buffer.readUInt16LE(localOff + 26) + buffer.readUInt16LE(localOff + 28);
    if (dataOff + csize > buffer.length) throw new Error(`npz: entry '${name}' is truncated`);
    const comp = buffer.subarray(dataOff, dataOff + csize);
    let raw;
    if (method === 0) raw = comp;
    else if (method === 8) raw = zlib.inflateRawSync(comp);
    else throw new Error(`npz: entry '${name}' uses unsupported compression method ${method}`);
    if (raw.length !== usize) throw new Error(`npz: entry '${name}' has ${raw.length} bytes, expected ${usize}`);
    if (crc32(raw) !== crc) throw new Error(`npz: CRC mismatch in entry '${name}'`);
    if (name.endsWith('/')) continue; // a directory entry
    const key = name.endsWith('.npy') ? name.slice(0, -4) : name;
    try {
      out[key] = readNpy(raw);
    } catch (err) {
      err.message = `npz entry '${name}': ${err.message}`;
      throw err;
    }
  }
  return out;
}

// Stored (uncompressed) entries; fixed 1980-01-01 timestamps so identical arrays give identical files.
function writeNpz(arrays) {
  const locals = [];
  const centrals = [];
  let offset = 0;
  for (const [key, arr] of Object.entries(arrays)) {
    const data = writeNpy(arr);
    const name = Buffer.from(`${key}.npy`, 'utf8');
    const utf8Flag = /^[\x20-\x7e]*$/.test(key) ? 0 : 0x800;
    const crc = crc32(data);
    if (offset + data.length > 0xfffffffe) throw new Error('npz: output over 4 GiB needs zip64, which writeNpz does not write');
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(SIG_LOCAL, 0);
    lh.writeUInt16LE(20, 4); // version needed: 2.0
    lh.writeUInt16LE(utf8Flag, 6);
    lh.writeUInt16LE(0, 8); // stored
    lh.writeUInt16LE(0, 10); // time
    lh.writeUInt16LE(0x21, 12); // date: 1980-01-01
    lh.writeUInt32LE(crc, 14);
    lh.writeUInt32LE(data.length, 18);
    lh.writeUInt32LE(data.length, 22);
    lh.writeUInt16LE(name.length, 26);
    lh.writeUInt16LE(0, 28);
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(SIG_CENTRAL, 0);
    ch.writeUInt16LE(20, 4); // version made by
    ch.writeUInt16LE(20, 6);
    ch.writeUInt16LE(utf8Flag, 8);
    ch.writeUInt16LE(0, 10);
    ch.writeUInt16LE(0, 12);
    ch.writeUInt16LE(0x21, 14);
    ch.writeUInt32LE(crc, 16);
    ch.writeUInt32LE(data.length, 20);
    ch.writeUInt32LE(data.length, 24);
    ch.writeUInt16LE(name.length, 28);
    ch.writeUInt32LE(offset, 42);
    locals.push(lh, name, data);
    centrals.push(ch, name);
    offset += 30 + name.length + data.length;
  }
  const cd = Buffer.concat(centrals);
  const n = centrals.length / 2;
  if (n > 0xfffe) throw new Error('npz: too many entries for a non-zip64 archive');
  const end = Buffer.alloc(22);
  end.writeUInt32LE(SIG_EOCD, 0);
  end.writeUInt16LE(n, 8);
  end.writeUInt16LE(n, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

module.exports = { readNpy, writeNpy, readNpz, writeNpz, crc32 };
