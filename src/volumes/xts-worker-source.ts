import { XTS_MODE_SOURCE } from './xts-mode.js';
import { XTS_SIMD_SOURCE } from './xts-simd.js';

/**
 * The program of an XtsWorkerPool worker, plain CommonJS so it runs as an eval worker both
 * under tsx and from compiled output (no second entry file to ship or resolve).
 *
 * Crypto: the same code as SectorCipher — `xts-mode.ts` and `xts-simd.ts`, whose functions
 * are embedded here by their source: AES-256-XTS over long-lived AES-256-ECB cipher
 * objects, its passes in WebAssembly SIMD, the block number as 128-bit little-endian tweak, a whole request at a time.
 * Decryption leaves all-zero (unwritten) blocks as zeros, as EncryptedVolume requires.
 *
 * Keys: `add-key` registers a volume's key under `keyId` (a transferred copy) and opens
 * its cipher objects; `drop-key` releases those (OpenSSL cleanses the key schedules),
 * zeroes the key and forgets it; every job names its `keyId`. One set of workers serves
 * every attached volume.
 *
 * Jobs (`op`): `encrypt` / `decrypt` a transferred buffer and send the result back;
 * `read-decrypt`: one pread of `length` bytes at `position` of descriptor `fd` (bytes past
 * the end read as zeros), decrypt, send the plaintext back; `encrypt-write`: encrypt the
 * transferred buffer (or its window [`offset`, `offset` + `length`) when given, or the
 * transferred Uint8Arrays `parts` back to back) and
 * write the ciphertext at `position` with pwritev, straight from the cipher's output
 * buffers (the input is left as it is: no copy back), reply without data; `batch`:
 * many small reads and writes in one message (`xts-batch.ts`): `items` holds five numbers
 * per item (1 for a write else 0, fd, position, firstBlock, length) and the transferred
 * `buffer` their data back to back, each item done as `read-decrypt` (into its window) or
 * `encrypt-write` (from it), the crypto of each run of consecutive reads or writes in one
 * call; the buffer goes back, with `failures` listing the items that failed (index,
 * message, code). The file I/O is synchronous on purpose: this
 * thread does nothing else, and doing it here saves the event loop a round trip through
 * the libuv thread pool. Any other error is sent back as { id, error: { message, code } }.
 * `close` releases every key left and ends the thread.
 */
export const XTS_WORKER_SOURCE = `
'use strict';
const { parentPort } = require('node:worker_threads');
const { createCipheriv, createDecipheriv } = require('node:crypto');
const { readSync, writeSync, writevSync } = require('node:fs');
// tsx keeps function names with this helper inside the embedded functions' source.
function __name(f) { return f; }
${XTS_SIMD_SOURCE}
${XTS_MODE_SOURCE}
// This thread's SIMD kernel (undefined without WebAssembly SIMD: the JavaScript passes).
const simd = xtsSimdCreate();
const keys = new Map();

function dropKey(k) {
  xtsEcbClose(k.ecb);
  k.key.fill(0);
}

// Bytes of cipher output per pwritev in encryptWrite: 1 MiB.
const WRITEV_BYTES = 1024 * 1024;
// Bytes per xtsApply call in encryptWrite: each call's output is a fresh buffer, and one of
// 128 KiB comes from malloc's free lists where one of 1 MiB is a fresh mapping whose pages
// fault in (measured here: about half the allocation cost per MiB).
const APPLY_BYTES = 128 * 1024;
// The ciphertext of read-decrypt, reused (its result is the cipher's fresh output).
let readBuffer = Buffer.allocUnsafeSlow(0);

// Encrypts parts (Buffers back to back, whole blocks in all) as blocks firstBlock… and
// writes the ciphertext at position. The cipher's output buffers go to pwritev as they
// are: no block is copied back, and the parts are left as they were (plaintext). The
// whole blocks inside one part are encrypted straight from it (APPLY_BYTES per call); a
// block across a part boundary is gathered first.
function encryptWrite(k, fd, parts, firstBlock, position) {
  const BS = k.blockSize;
  const gathered = Buffer.allocUnsafe(BS);
  let out = [], outBytes = 0, n = firstBlock, at = position, filled = 0;
  const emit = (plain) => {
    const ct = xtsApply(k.ecb, true, plain, n, BS, false);
    n += plain.length / BS;
    out.push(ct);
    outBytes += ct.length;
    if (outBytes >= WRITEV_BYTES) flush();
  };
  const flush = () => {
    pwritevFully(fd, out, at);
    at += outBytes;
    out = [];
    outBytes = 0;
  };
  for (const part of parts) {
    let off = 0;
    if (filled > 0) {
      const len = Math.min(BS - filled, part.length);
      part.copy(gathered, filled, 0, len);
      filled += len;
      off = len;
      if (filled === BS) { emit(gathered); filled = 0; }
    }
    while (part.length - off >= BS) {
      const len = Math.min(APPLY_BYTES, Math.floor((part.length - off) / BS) * BS);
      emit(part.subarray(off, off + len));
      off += len;
    }
    if (off < part.length) {
      part.copy(gathered, 0, off);
      filled = part.length - off;
    }
  }
  if (filled !== 0) throw new Error('not a whole number of blocks');
  if (out.length > 0) flush();
}

function preadFully(fd, data, position) {
  let done = 0;
  while (done < data.length) {
    const n = readSync(fd, data, done, data.length - done, position + done);
    if (n === 0) { data.fill(0, done); return; }
    done += n;
  }
}

function pwriteFully(fd, data, position) {
  let done = 0;
  while (done < data.length) done += writeSync(fd, data, done, data.length - done, position + done);
}

function pwritevFully(fd, parts, position) {
  // libuv already continues after short writes; this only covers one it gave up on
  // (the retry then raises the error, ENOSPC for instance).
  const written = writevSync(fd, parts, position);
  for (let i = 0, at = 0; i < parts.length; at += parts[i].length, i++) {
    if (written < at + parts[i].length) pwriteFully(fd, parts[i].subarray(Math.max(0, written - at)), position + Math.max(at, written));
  }
}

// A batch's items run as runs of consecutive reads or writes, which lie back to back in its
// buffer: one xtsApplyTweaks per run instead of one per item (two cipher update() calls
// and their allocations per 4 KiB item, otherwise). The order of I/O within a batch does
// not matter: the caller's block locks keep conflicting requests out of the same batch.
function batch(k, items, data) {
  const failures = [];
  const count = items.length / 5;
  for (let i = 0, at = 0; i < count; ) {
    const write = items[i * 5] === 1;
    let end = i, bytes = 0;
    while (end < count && (items[end * 5] === 1) === write) bytes += items[end++ * 5 + 4];
    batchRun(k, items, data.subarray(at, at + bytes), i, end, write, failures);
    i = end;
    at += bytes;
  }
  return { buffer: data.buffer, failures: failures.length > 0 ? failures : undefined };
}

// Items [from, to) of one kind, whose data is region: reads are read (pread), then decrypted
// together (all-zero blocks stay zeros); writes are encrypted together, then pwritten.
// A failed pread or pwrite fails only its item.
function batchRun(k, items, region, from, to, write, failures) {
  const BS = k.blockSize;
  const tweaks = Buffer.alloc((region.length / BS) * 16);
  const fail = (i, err) => failures.push({ index: i, message: String(err && err.message), code: err && err.code });
  for (let i = from, at = 0, unit = 0; i < to; i++) {
    const length = items[i * 5 + 4];
    for (let j = 0, n = items[i * 5 + 3]; j < length / BS; j++, n++, unit++) {
      tweaks.writeUInt32LE(n % 0x100000000, unit * 16);
      tweaks.writeUInt32LE(Math.floor(n / 0x100000000), unit * 16 + 4);
    }
    if (!write) {
      try { preadFully(items[i * 5 + 1], region.subarray(at, at + length), items[i * 5 + 2]); } catch (err) { fail(i, err); }
    }
    at += length;
  }
  const out = xtsApplyTweaks(k.ecb, write, region, tweaks, BS, !write);
  if (!write) {
    region.set(out);
    return;
  }
  for (let i = from, at = 0; i < to; i++) {
    const length = items[i * 5 + 4];
    try { pwriteFully(items[i * 5 + 1], out.subarray(at, at + length), items[i * 5 + 2]); } catch (err) { fail(i, err); }
    at += length;
  }
}

function keyFor(keyId) {
  const k = keys.get(keyId);
  if (k === undefined) throw new Error('no such key');
  return k;
}

function handle(m) {
  switch (m.op) {
    case 'add-key': {
      const key = Buffer.from(m.key);
      keys.set(m.keyId, { key, blockSize: m.blockSize, ecb: xtsEcbOpen(key, simd) });
      return undefined;
    }
    case 'drop-key': {
      const k = keys.get(m.keyId);
      if (k !== undefined) dropKey(k);
      keys.delete(m.keyId);
      return undefined;
    }
    case 'encrypt':
    case 'decrypt': {
      // xtsApply returns a buffer of its own (never the input's): send that back.
      const k = keyFor(m.keyId);
      return xtsApply(k.ecb, m.op === 'encrypt', Buffer.from(m.buffer), m.firstBlock, k.blockSize, m.op === 'decrypt').buffer;
    }
    case 'read-decrypt': {
      const k = keyFor(m.keyId);
      // Kept for reuse up to 1 MiB (a larger read gets a buffer of its own). Every byte is
      // written: preadFully fills with zeros past the end of the file.
      if (readBuffer.length < m.length && m.length <= WRITEV_BYTES) readBuffer = Buffer.allocUnsafeSlow(m.length);
      const data = m.length <= readBuffer.length ? readBuffer.subarray(0, m.length) : Buffer.allocUnsafeSlow(m.length);
      preadFully(m.fd, data, m.position);
      return xtsApply(k.ecb, false, data, m.firstBlock, k.blockSize, true).buffer;
    }
    case 'encrypt-write': {
      const parts = m.parts !== undefined
        ? m.parts.map((u) => Buffer.from(u.buffer, u.byteOffset, u.byteLength))
        : [m.offset === undefined ? Buffer.from(m.buffer) : Buffer.from(m.buffer, m.offset, m.length)];
      encryptWrite(keyFor(m.keyId), m.fd, parts, m.firstBlock, m.position);
      return undefined;
    }
    case 'batch':
      return batch(keyFor(m.keyId), m.items, Buffer.from(m.buffer));
    default:
      throw new Error('unknown op');
  }
}

parentPort.on('message', (m) => {
  if (m.op === 'close') {
    for (const k of keys.values()) dropKey(k);
    keys.clear();
    parentPort.close();
    return;
  }
  let result;
  try {
    result = handle(m);
  } catch (err) {
    parentPort.postMessage({ id: m.id, error: { message: String(err && err.message), code: err && err.code } });
    return;
  }
  if (result === undefined) parentPort.postMessage({ id: m.id });
  else if (result instanceof ArrayBuffer) parentPort.postMessage({ id: m.id, buffer: result }, [result]);
  else parentPort.postMessage({ id: m.id, buffer: result.buffer, failures: result.failures }, [result.buffer]);
});
`;
