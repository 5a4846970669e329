/**
 * The program of an XtsWorkerPool worker, plain CommonJS so it runs as an eval worker both
 * under tsx and from compiled output (no second entry file to ship or resolve).
 *
 * Crypto: the same construction as SectorCipher — node:crypto AES-256-XTS, one cipher per
 * 4 KiB block, the block number as 128-bit little-endian tweak — applied in place.
 * Decryption leaves all-zero (unwritten) blocks as zeros, as EncryptedVolume requires.
 *
 * Keys: `add-key` registers a volume's key under `keyId` (a transferred copy), `drop-key`
 * zeroes and forgets it; every job names its `keyId`. One set of workers serves every
 * attached volume.
 *
 * Jobs (`op`): `encrypt` / `decrypt` a transferred buffer and send it back;
 * `read-decrypt`: one pread of `length` bytes at `position` of descriptor `fd` (bytes past
 * the end read as zeros), decrypt, send the buffer back; `encrypt-write`: encrypt the
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
 * `close` zeroes every key left and ends the thread.
 */
export const XTS_WORKER_SOURCE = `
'use strict';
const { parentPort } = require('node:worker_threads');
const { createCipheriv, createDecipheriv } = require('node:crypto');
const { readSync, writeSync, writevSync } = require('node:fs');
const keys = new Map();
const tweak = Buffer.alloc(16);
const zeros = new Map();

/** One block through AES-256-XTS with block number n as the tweak; a new buffer. */
function xtsBlock(k, encrypt, n, block) {
  tweak.writeUInt32LE(n % 0x100000000, 0);
  tweak.writeUInt32LE(Math.floor(n / 0x100000000), 4);
  return (encrypt ? createCipheriv : createDecipheriv)('aes-256-xts', k.key, tweak).update(block);
}

function xts(k, encrypt, data, firstBlock) {
  const BS = k.blockSize;
  let zero = zeros.get(BS);
  if (zero === undefined) zeros.set(BS, zero = Buffer.alloc(BS));
  for (let at = 0, n = firstBlock; at < data.length; at += BS, n++) {
    const block = data.subarray(at, at + BS);
    if (!encrypt && block.readUInt32LE(0) === 0 && block.equals(zero)) continue;
    xtsBlock(k, encrypt, n, block).copy(data, at);
  }
}

// Blocks per pwritev in encryptWrite: 1 MiB of cipher output held at a time.
const WRITEV_BLOCKS = 256;

// Encrypts parts (Buffers back to back, whole blocks in all) as blocks firstBlock… and
// writes the ciphertext at position. The cipher's output buffers go to pwritev as they
// are: no block is copied back, and the parts are left as they were (plaintext). A block
// that lies in one part is read in place; one across a part boundary is gathered first.
function encryptWrite(k, fd, parts, firstBlock, position) {
  const BS = k.blockSize;
  const gathered = Buffer.allocUnsafe(BS);
  let out = [], n = firstBlock, at = position, p = 0, off = 0;
  const flush = () => {
    pwritevFully(fd, out, at);
    at += out.length * BS;
    out = [];
  };
  for (;;) {
    while (p < parts.length && off === parts[p].length) { p++; off = 0; }
    if (p === parts.length) break;
    let block;
    if (parts[p].length - off >= BS) {
      block = parts[p].subarray(off, off + BS);
      off += BS;
    } else {
      for (let filled = 0; filled < BS; ) {
        while (p < parts.length && off === parts[p].length) { p++; off = 0; }
        if (p === parts.length) throw new Error('not a whole number of blocks');
        const len = Math.min(BS - filled, parts[p].length - off);
        parts[p].copy(gathered, filled, off, off + len);
        filled += len;
        off += len;
      }
      block = gathered;
    }
    out.push(xtsBlock(k, true, n++, block));
    if (out.length === WRITEV_BLOCKS) flush();
  }
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
    case 'add-key':
      keys.set(m.keyId, { key: Buffer.from(m.key), blockSize: m.blockSize });
      return undefined;
    case 'drop-key': {
      const k = keys.get(m.keyId);
      if (k !== undefined) k.key.fill(0);
      keys.delete(m.keyId);
      return undefined;
    }
    case 'encrypt':
    case 'decrypt': {
      xts(keyFor(m.keyId), m.op === 'encrypt', Buffer.from(m.buffer), m.firstBlock);
      return m.buffer;
    }
    case 'read-decrypt': {
      // Not zero-filled: preadFully writes every byte (zeros past the end of the file).
      const data = Buffer.allocUnsafeSlow(m.length);
      const k = keyFor(m.keyId);
      preadFully(m.fd, data, m.position);
      xts(k, false, data, m.firstBlock);
      return data.buffer;
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
    for (const k of keys.values()) k.key.fill(0);
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
