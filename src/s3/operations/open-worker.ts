// The program of a segment-open thread (node:worker_threads), started by SegmentOpenPool
// (open-pool.ts): it decrypts the sealed chunks of large GETs with the same SegmentOpener as
// the in-thread path, so the event loop that serves requests only reads and sends. Protocol:
// see OpenRequest / OpenReply. Every stream's key is a transferred copy, zeroed here when the
// stream finishes, fails, is dropped, or the thread closes.
import { parentPort } from 'node:worker_threads';
import { DecryptionError, headerSize, SecretBytes, SegmentOpener, type RangePlan } from '../../crypto/index.js';

/** Main thread → open thread. Messages of one stream are handled in the order they were posted. */
export type OpenRequest =
  /** A GET's stream: its key (transferred, 32 bytes), binding, plan and separately read header, if any. No reply. */
  | { readonly op: 'open'; readonly stream: number; readonly key: ArrayBuffer; readonly aad: Uint8Array; readonly plan: RangePlan; readonly header: Uint8Array | null }
  /**
   * Sealed bytes [offset, offset + length) of the transferred `buffer`; with `lead`, the
   * header sits in the `headerSize` bytes before `offset`. `last`: the stream's final chunk.
   */
  | { readonly op: 'chunk'; readonly id: number; readonly stream: number; readonly buffer: ArrayBuffer; readonly offset: number; readonly length: number; readonly lead: boolean; readonly last: boolean }
  /** Zeroes and forgets the stream's key (a GET that ended early); replies when done. */
  | { readonly op: 'drop'; readonly id: number; readonly stream: number }
  /** How many streams hold a key (for tests). */
  | { readonly op: 'live'; readonly id: number }
  /** Zeroes every key left and ends the thread. */
  | { readonly op: 'close' };

/**
 * Open thread → main thread. A chunk's reply always gives its ciphertext buffer back; on
 * success with the verified plaintext `pieces` (transferred ArrayBuffers) and their views
 * (`views[2i]` offset, `views[2i + 1]` length), else `error`: 'decrypt' (the stream failed
 * authentication, nothing of that chunk is sent) or 'gone' (no such stream: dropped or failed).
 */
export type OpenReply =
  | { readonly id: number; readonly buffer: ArrayBuffer; readonly pieces: readonly ArrayBuffer[]; readonly views: readonly number[] }
  | { readonly id: number; readonly buffer: ArrayBuffer; readonly error: 'decrypt' | 'gone' }
  | { readonly id: number; readonly live: number }
  | { readonly id: number; readonly dropped: true };

interface Stream {
  readonly key: SecretBytes;
  readonly aad: Buffer;
  readonly plan: RangePlan;
  readonly header: Buffer | undefined;
  opener: SegmentOpener | undefined;
}

const port = parentPort;
if (port === null) throw new Error('open-worker runs as a worker thread only');
const streams = new Map<number, Stream>();

function drop(stream: number): void {
  const s = streams.get(stream);
  if (s === undefined) return;
  streams.delete(stream);
  s.opener?.dispose();
  s.key.dispose();
}

/** Opens one chunk of `s`; returns its verified plaintext. Throws DecryptionError (and more on a bug). */
function openChunk(s: Stream, m: Extract<OpenRequest, { op: 'chunk' }>): Buffer[] {
  const segments = Buffer.from(m.buffer, m.offset, m.length);
  if (s.opener === undefined) {
    const header = s.header ?? (m.lead ? Buffer.from(m.buffer, m.offset - headerSize, headerSize) : undefined);
    if (header === undefined) throw new DecryptionError();
    // The header is parsed and copied by the constructor: no view of it is kept.
    s.opener = new SegmentOpener(s.key, { aad: s.aad, range: { header, plan: s.plan } });
  }
  const out = s.opener.update(segments);
  if (m.last) out.push(...s.opener.final());
  return out;
}

function onChunk(m: Extract<OpenRequest, { op: 'chunk' }>): void {
  const s = streams.get(m.stream);
  if (s === undefined) {
    port!.postMessage({ id: m.id, buffer: m.buffer, error: 'gone' } satisfies OpenReply, [m.buffer]);
    return;
  }
  let out: Buffer[];
  try {
    out = openChunk(s, m);
  } catch {
    // Which check failed is never told; the key goes at once.
    drop(m.stream);
    port!.postMessage({ id: m.id, buffer: m.buffer, error: 'decrypt' } satisfies OpenReply, [m.buffer]);
    return;
  }
  if (m.last) drop(m.stream);
  // Each piece is (a view of) a decipher output: an ArrayBuffer of its own, nothing else
  // in it, so it is transferred rather than copied. Aligned chunks leave the opener no view
  // of `m.buffer` (only the final segment waits for final(), which ran with the last chunk).
  const pieces: ArrayBuffer[] = [];
  const views: number[] = [];
  const transfer: ArrayBuffer[] = [m.buffer];
  for (const p of out) {
    const ab = p.buffer as ArrayBuffer;
    pieces.push(ab);
    views.push(p.byteOffset, p.length);
    if (!transfer.includes(ab)) transfer.push(ab);
  }
  port!.postMessage({ id: m.id, buffer: m.buffer, pieces, views } satisfies OpenReply, transfer);
}

port.on('message', (m: OpenRequest) => {
  switch (m.op) {
    case 'open': {
      const key = Buffer.from(m.key);
      streams.set(m.stream, { key: SecretBytes.adopt(key), aad: Buffer.from(m.aad), plan: m.plan, header: m.header === null ? undefined : Buffer.from(m.header), opener: undefined });
      return;
    }
    case 'chunk':
      onChunk(m);
      return;
    case 'drop':
      drop(m.stream);
      port.postMessage({ id: m.id, dropped: true } satisfies OpenReply);
      return;
    case 'live':
      port.postMessage({ id: m.id, live: streams.size } satisfies OpenReply);
      return;
    case 'close':
      for (const stream of [...streams.keys()]) drop(stream);
      port.close();
      return;
    default: {
      const never: never = m;
      throw new Error(`open-worker: unknown message ${String((never as { op?: unknown }).op)}`);
    }
  }
});
