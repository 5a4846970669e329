import { XTS_MODE_SOURCE } from './xts-mode.js';

/**
 * The program of an XtsWorkerPool worker, plain CommonJS so it runs as an eval worker both
 * under tsx and from compiled output (no second entry file to ship or resolve).
 *
 * Crypto: the same code as SectorCipher — `xts-mode.ts`, whose functions are embedded
 * here by their source (XTS_MODE_SOURCE): AES-256-XTS over long-lived AES-256-ECB cipher
 * objects, the block number as 128-bit little-endian tweak, a whole request at a time.
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
 * `buffer` their data back to back, each item done in order as `read-decrypt` (into its
 * window) or `encrypt-write` (from it); the buffer goes back, with `failures` listing the
 * items that failed (index, message, code). The file I/O is synchronous on purpose: this
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
${XTS_MODE_SOURCE}
const keys = new Map();

/** Decrypts (all-zero blocks stay zeros) or encrypts data in place as blocks firstBlock…. */
function xts(k, encrypt, data, firstBlock) {
  data.set(xtsApply(k.ecb, encrypt, data, firstBlock, k.blockSize, !encrypt));
}

function dropKey(k) {
  xtsEcbClose(k.ecb);
  k.key.fill(0);
}

// Bytes of cipher output per pwritev in encryptWrite (and per xtsApply call): 1 MiB.
const WRITEV_BYTES = 1024 * 1024;

// Encrypts parts (Buffers back to back, whole blocks in all) as blocks firstBlock… and
// writes the ciphertext at position. The cipher's output buffers go to pwritev as they
// are: no block is copied back, and the parts are left as they were (plaintext). The
// whole blocks inside one part are encrypted in place of reading (up to 1 MiB per call);
// a block across a part boundary is gathered first.
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
      const len = Math.min(WRITEV_BYTES, Math.floor((part.length - off) / BS) * BS);
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

function batch(k, items, data) {
  let failures;
  for (let i = 0, at = 0; i * 5 < items.length; i++) {
    const write = items[i * 5] === 1, fd = items[i * 5 + 1], position = items[i * 5 + 2];
    const firstBlock = items[i * 5 + 3], length = items[i * 5 + 4];
    const part = data.subarray(at, at + length);
    at += length;
    try {
      if (write) {
        encryptWrite(k, fd, [part], firstBlock, position);
      } else {
        preadFully(fd, part, position);
        xts(k, false, part, firstBlock);
      }
    } catch (err) {
      (failures ??= []).push({ index: i, message: String(err && err.message), code: err && err.code });
    }
  }
  return { buffer: data.buffer, failures };
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
      keys.set(m.keyId, { key, blockSize: m.blockSize, ecb: xtsEcbOpen(key) });
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
      // Not zero-filled: preadFully writes every byte (zeros past the end of the file).
      const data = Buffer.allocUnsafeSlow(m.length);
      const k = keyFor(m.keyId);
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
