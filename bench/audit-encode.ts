/**
 * What encoding an audit record costs the request thread, against the machine's own JSON
 * serialiser (issue 5): the records of 4 KiB SSE-KMS S3 PUTs (each PUT's GenerateDataKey on
 * the caller's behalf and its PutObject) or of KMS GenerateDataKey calls, built as the edge
 * builds them (audit-sample-requests.ts, SinkEdgeAuditor.toRecord), then per record:
 *
 * - `encodeAuditEvent`: what AuditTrail.append runs (redaction, canonical JSON, the lookup
 *   columns and terms, one walk);
 * - the batch and its journal frame (encodeAuditBatch, encodeJournalFrameInto: the rope
 *   flattened into UTF-8, the CRC-32), in batches of 12 records as a server at c=32 writes
 *   them, timed apart from the encoding;
 * - the references: `JSON.stringify` of the same record (V8's serialiser: no canonical order,
 *   no redaction, no index; the floor a JavaScript encoder is measured against) and
 *   `canonicalJson(sanitizeEvent(record))` (the encoder's specification, two walks).
 *
 * Single thread, no I/O, no server: the instructions of the encoder, without the cache misses
 * and preemption a loaded server adds (there the same work reads ~2x slower: BENCHMARKS.md).
 * Medians of the rounds' per-record ns; the ratio column is to JSON.stringify in the same round.
 *
 * Run: npm run build && node dist/bench/audit-encode.js [--workload=s3,kms] [--requests=6000] [--rounds=7]
 *  or: node --import tsx bench/audit-encode.ts [flags] (slower: tsx's loader stays in the picture)
 */
import pino from 'pino';
import { canonicalJson, encodeAuditEvent, sanitizeEvent, type AuditEvent, type AuditSink } from '../src/audit/index.js';
import { SinkEdgeAuditor } from '../src/net/edge-audit.js';
import { encodeJournalFrameInto, type FrameScratch } from '../src/store/sqlite/audit-journal-frame.js';
import { encodeAuditBatch } from '../src/store/sqlite/audit-writer-client.js';
import { median } from './audit-bench-tables.js';
import { SAMPLE_ACCOUNT, SAMPLE_REGION, sampleRequests, type AuditWorkload } from './audit-sample-requests.js';

const arg = (name: string, fallback: string): string => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const workloads = arg('workload', 's3,kms').split(',');
const requests = Number(arg('requests', '6000'));
const rounds = Number(arg('rounds', '7'));
for (const w of workloads) if (w !== 's3' && w !== 'kms') throw new Error(`--workload takes s3 and/or kms, not ${w}`);
if (![requests, rounds].every((n) => Number.isInteger(n) && n >= 1)) throw new Error('--requests and --rounds take whole numbers from 1');

/** Records per batch: what a server at c=32 writes per journal frame (~11–12 records per turn). */
const BATCH = 12;

/** The records the edge would append for `requests` requests of a workload, in order. */
async function recordsOf(workload: AuditWorkload): Promise<AuditEvent[]> {
  const records: AuditEvent[] = [];
  // toRecord only: the sink is never appended to.
  const edge = new SinkEdgeAuditor(null as unknown as AuditSink, { region: SAMPLE_REGION, accountId: SAMPLE_ACCOUNT }, pino({ level: 'silent' }));
  const request = sampleRequests(workload, {
    record: (event) => {
      records.push(edge.toRecord(event));
      return Promise.resolve();
    },
  });
  for (let n = 0; n < requests; n++) await request(n);
  return records;
}

interface Round {
  readonly encode: number;
  readonly frame: number;
  readonly stringify: number;
  readonly reference: number;
}

/** One round over `records`: ns per record of each column. */
function round(records: readonly AuditEvent[], scratch: FrameScratch): Round {
  let encode = 0n;
  let frame = 0n;
  let sink = 0;
  for (let i = 0; i < records.length; i += BATCH) {
    const t0 = process.hrtime.bigint();
    const batch = [];
    for (let j = i; j < Math.min(i + BATCH, records.length); j++) batch.push(encodeAuditEvent(records[j] as AuditEvent));
    const t1 = process.hrtime.bigint();
    sink += encodeJournalFrameInto(encodeAuditBatch(batch), scratch).length;
    const t2 = process.hrtime.bigint();
    encode += t1 - t0;
    frame += t2 - t1;
  }
  let t = process.hrtime.bigint();
  for (const r of records) sink += JSON.stringify(r).length;
  const stringify = process.hrtime.bigint() - t;
  t = process.hrtime.bigint();
  for (const r of records) sink += canonicalJson(sanitizeEvent(r).value).length;
  const reference = process.hrtime.bigint() - t;
  if (sink === 0) throw new Error('nothing encoded');
  const per = (ns: bigint): number => Number(ns) / records.length;
  return { encode: per(encode), frame: per(frame), stringify: per(stringify), reference: per(reference) };
}

const label = (w: AuditWorkload): string => (w === 's3' ? 'S3 4 KiB SSE-KMS PUT (GenerateDataKey + PutObject)' : 'KMS GenerateDataKey');
const lines = [
  '| records of | bytes / record | encodeAuditEvent ns | batch + frame ns | JSON.stringify ns | encode ÷ JSON.stringify | canonicalJson(sanitizeEvent) ns |',
  '| :--- | ---: | ---: | ---: | ---: | ---: | ---: |',
];
for (const w of workloads as AuditWorkload[]) {
  const records = await recordsOf(w);
  const bytes = records.reduce((sum, r) => sum + Buffer.byteLength(encodeAuditEvent(r).json), 0) / records.length;
  const scratch: FrameScratch = { buf: undefined };
  round(records, scratch); // warm-up: the JIT and the encoder's caches
  const measured: Round[] = [];
  for (let i = 0; i < rounds; i++) measured.push(round(records, scratch));
  const m = (k: keyof Round): number => median(measured.map((r) => r[k]));
  const ratio = median(measured.map((r) => r.encode / r.stringify));
  lines.push(`| ${label(w)} | ${bytes.toFixed(0)} | ${m('encode').toFixed(0)} | ${m('frame').toFixed(0)} | ${m('stringify').toFixed(0)} | ${ratio.toFixed(2)} | ${m('reference').toFixed(0)} |`);
}
process.stdout.write(`${lines.join('\n')}\n`);
