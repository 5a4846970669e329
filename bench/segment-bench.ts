// Segment stream throughput against OpenSSL's own AES-256-GCM speed on this machine.
//
// Run: node --import tsx bench/segment-bench.ts
// Encrypts and decrypts 64 MiB held in memory through the streaming Transforms (fed in
// 64 KiB chunks, as a file or socket would) and through the one-shot helpers, takes the
// best of a few runs, and compares with `openssl speed -evp aes-256-gcm -bytes 16384
// -seconds 2` run in the same process tree. MB/s here is 10^6 bytes per second of
// plaintext, the unit openssl speed reports (in 1000s of bytes per second).
// The `node:crypto` rows are the floor under the format: one createCipheriv per 64 KiB segment
// and `update` calls of the given piece size, no framing. They differ from openssl speed by
// what node:crypto adds per call (a fresh, zero-filled output buffer from the heap each time);
// run them again with e.g. GLIBC_TUNABLES=glibc.malloc.trim_threshold=268435456 to see the
// heap's share.
// The `native` rows are the same floor through the addon (src/crypto/native-gcm/): one keyed
// context, a new nonce per segment, written into one Buffer.allocUnsafe per segment (as the
// sealer does) or into one reused buffer (the cipher alone). The stream rows use the addon
// when it is loaded; CIPHERLAKE_NATIVE_GCM=off runs them on node:crypto (the header says which).
import { execFileSync } from 'node:child_process';
import { createCipheriv, randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import type { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { nativeGcm } from '../src/crypto/native-gcm/binding.js';
import { performance } from 'node:perf_hooks';
import {
  DEFAULT_SEGMENT_SIZE,
  NATIVE_GCM_ENV,
  SecretBytes,
  nativeGcmStatus,
  createSegmentDecryptor,
  createSegmentEncryptor,
  openBuffer,
  sealBuffer,
} from '../src/crypto/index.js';

const SIZE = 64 * 1024 * 1024;
const CHUNK = 64 * 1024;
const RUNS = 3;

function chunksOf(data: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < data.length; i += CHUNK) out.push(data.subarray(i, i + CHUNK));
  return out;
}

/** Pipes `input` through `stage` into a sink that only counts (a file or socket would write). */
async function drain(input: Buffer, stage: Transform): Promise<number> {
  let total = 0;
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb): void {
      total += chunk.length;
      cb();
    },
  });
  await pipeline(Readable.from(chunksOf(input)), stage, sink);
  return total;
}

async function collect(input: Buffer, stage: Transform): Promise<Buffer> {
  const parts: Buffer[] = [];
  await pipeline(Readable.from(chunksOf(input)), stage, async (src: AsyncIterable<Buffer>) => {
    for await (const c of src) parts.push(c);
  });
  return Buffer.concat(parts);
}

/** Best MB/s over RUNS runs of `fn` on SIZE bytes of plaintext. */
async function best(fn: () => Promise<unknown> | unknown): Promise<number> {
  let fastest = Number.POSITIVE_INFINITY;
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await fn();
    fastest = Math.min(fastest, performance.now() - t0);
  }
  return SIZE / 1e6 / (fastest / 1000);
}

/** AES-256-GCM over `plain` with one cipher per 64 KiB segment, fed in `piece`-byte updates. */
function rawSegments(key: Buffer, plain: Buffer, piece: number): void {
  const iv = Buffer.alloc(12);
  for (let at = 0, segment = 0; at < plain.length; at += DEFAULT_SEGMENT_SIZE, segment++) {
    iv.writeUInt32BE(segment, 8);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    const end = Math.min(at + DEFAULT_SEGMENT_SIZE, plain.length);
    for (let p = at; p < end; p += piece) cipher.update(plain.subarray(p, Math.min(p + piece, end)));
    cipher.final();
    cipher.getAuthTag();
  }
}

/** The same segments through the addon: into a fresh allocUnsafe buffer each, or one reused buffer. */
function nativeSegments(key: Buffer, plain: Buffer, reuse: boolean): void {
  const native = nativeGcm();
  if (native === undefined) throw new Error('addon not loaded');
  const gcm = new native.GcmKey(key, true);
  const iv = Buffer.alloc(12);
  const aad = Buffer.alloc(0);
  const shared = Buffer.allocUnsafe(DEFAULT_SEGMENT_SIZE + 16);
  try {
    for (let at = 0, segment = 0; at < plain.length; at += DEFAULT_SEGMENT_SIZE, segment++) {
      iv.writeUInt32BE(segment, 8);
      const end = Math.min(at + DEFAULT_SEGMENT_SIZE, plain.length);
      gcm.seal(iv, aad, plain.subarray(at, end), reuse ? shared : Buffer.allocUnsafe(end - at + 16));
    }
  } finally {
    gcm.dispose();
  }
}

function opensslMBps(): number {
  const out = execFileSync('openssl', ['speed', '-evp', 'aes-256-gcm', '-bytes', '16384', '-seconds', '2'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const match = /^aes-256-gcm\s+([\d.]+)k\s*$/im.exec(out);
  if (match?.[1] === undefined) throw new Error(`could not parse openssl speed output:\n${out}`);
  return (Number(match[1]) * 1000) / 1e6;
}

async function main(): Promise<void> {
  const key = SecretBytes.random(32);
  const aad = Buffer.from('bench-bucket\0bench/object\0v1');
  const plain = randomBytes(SIZE);
  // Not the object key: a separate random key for the raw rows (never logged, dropped at exit).
  const rawKey = randomBytes(32);
  const sealed = sealBuffer(key, plain, { aad });
  if (!(await collect(sealed, createSegmentDecryptor(key, { aad }))).equals(plain)) throw new Error('round trip failed');

  const rows: Array<[string, number]> = [
    ['encrypt, stream (64 KiB chunks)', await best(() => drain(plain, createSegmentEncryptor(key, { aad })))],
    ['decrypt, stream (64 KiB chunks)', await best(() => drain(sealed, createSegmentDecryptor(key, { aad })))],
    // One-shot rows include joining the output into one 64 MiB buffer.
    ['encrypt, sealBuffer (one call)', await best(() => sealBuffer(key, plain, { aad }))],
    ['decrypt, openBuffer (one call)', await best(() => openBuffer(key, sealed, { aad }))],
    ['node:crypto, 64 KiB updates', await best(() => rawSegments(rawKey, plain, 64 * 1024))],
    ['node:crypto, 16 KiB updates', await best(() => rawSegments(rawKey, plain, 16 * 1024))],
    ['node:crypto, 4 KiB updates', await best(() => rawSegments(rawKey, plain, 4 * 1024))],
  ];
  if (nativeGcm() !== undefined) {
    rows.push(['native, allocUnsafe per segment', await best(() => nativeSegments(rawKey, plain, false))]);
    rows.push(['native, one reused buffer', await best(() => nativeSegments(rawKey, plain, true))]);
  }
  const openssl = opensslMBps();
  key.dispose();
  rawKey.fill(0);

  const cipher = nativeGcmStatus().loaded ? 'native addon' : `node:crypto (${NATIVE_GCM_ENV}=${process.env[NATIVE_GCM_ENV] ?? ''}, addon ${nativeGcmStatus().loaded ? 'loaded' : 'not loaded'})`;
  console.log(`segment stream v1, ${SIZE / 2 ** 20} MiB in memory, segment ${DEFAULT_SEGMENT_SIZE / 1024} KiB, Node ${process.version}, stream rows on ${cipher}`);
  console.log(`${'what'.padEnd(36)}${'MB/s'.padStart(10)}${'vs openssl'.padStart(12)}`);
  console.log(`${'openssl speed aes-256-gcm 16 KiB'.padEnd(36)}${openssl.toFixed(0).padStart(10)}${'1.00'.padStart(12)}`);
  for (const [name, mbps] of rows) {
    console.log(`${name.padEnd(36)}${mbps.toFixed(0).padStart(10)}${(mbps / openssl).toFixed(2).padStart(12)}`);
  }
}

await main();
