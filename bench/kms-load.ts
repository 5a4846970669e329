/**
 * The KMS benchmark's load generator: SigV4 signing with a cached signing key and a
 * closed-loop driver over an undici Pool (one keep-alive connection per concurrent caller).
 * Much lighter than @aws-sdk/client-kms, whose own per-call cost on this machine is above
 * the server's, so the numbers measure the server rather than the client. runRequestLoad
 * drives any other request the same way (audit-bench's S3 PUTs).
 */
import { createHash, createHmac } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';

/** A request the driver repeats: one KMS target with a constant JSON body. */
export interface KmsCall {
  readonly target: string;
  readonly body: Buffer;
}

/**
 * Signs KMS JSON 1.1 requests (SigV4, Authorization header). The signing key is derived
 * once per day and the signed headers of a call are reused within one second: a fresh
 * x-amz-date each second, while the client spends almost nothing per request.
 */
export class KmsSigner {
  readonly #accessKeyId: string;
  readonly #secret: string;
  readonly #region: string;
  readonly #host: string;
  #keyDate = '';
  #key: Buffer = Buffer.alloc(0);
  readonly #cache = new Map<KmsCall, { second: number; headers: Record<string, string> }>();
  readonly #bodyHash = new WeakMap<Buffer, string>();

  constructor(accessKeyId: string, secret: string, region: string, host: string) {
    this.#accessKeyId = accessKeyId;
    this.#secret = secret;
    this.#region = region;
    this.#host = host;
  }

  /** Headers for `call`: host, content type, target, x-amz-date and Authorization. */
  headers(call: KmsCall): Record<string, string> {
    const second = Math.floor(Date.now() / 1000);
    const hit = this.#cache.get(call);
    if (hit !== undefined && hit.second === second) return hit.headers;
    const headers = this.#sign(call, second);
    this.#cache.set(call, { second, headers });
    return headers;
  }

  #sign(call: KmsCall, second: number): Record<string, string> {
    const amzDate = new Date(second * 1000).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
    const date = amzDate.slice(0, 8);
    const scope = `${date}/${this.#region}/kms/aws4_request`;
    const signed = 'content-type;host;x-amz-date;x-amz-target';
    const canonical = [
      'POST',
      '/',
      '',
      `content-type:application/x-amz-json-1.1\nhost:${this.#host}\nx-amz-date:${amzDate}\nx-amz-target:${call.target}\n`,
      signed,
      this.#payloadHash(call.body),
    ].join('\n');
    const stringToSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${sha256Hex(canonical)}`;
    const signature = createHmac('sha256', this.#signingKey(date)).update(stringToSign).digest('hex');
    return {
      host: this.#host,
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-date': amzDate,
      'x-amz-target': call.target,
      authorization: `AWS4-HMAC-SHA256 Credential=${this.#accessKeyId}/${scope}, SignedHeaders=${signed}, Signature=${signature}`,
    };
  }

  #signingKey(date: string): Buffer {
    if (date === this.#keyDate) return this.#key;
    const kDate = createHmac('sha256', `AWS4${this.#secret}`).update(date).digest();
    const kRegion = createHmac('sha256', kDate).update(this.#region).digest();
    const kService = createHmac('sha256', kRegion).update('kms').digest();
    this.#key = createHmac('sha256', kService).update('aws4_request').digest();
    this.#keyDate = date;
    return this.#key;
  }

  #payloadHash(body: Buffer): string {
    let h = this.#bodyHash.get(body);
    if (h === undefined) {
      h = sha256Hex(body);
      this.#bodyHash.set(body, h);
    }
    return h;
  }
}

function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** One measurement: completed requests, failures, rate and latency percentiles (ms). */
export interface LoadResult {
  readonly requests: number;
  readonly errors: number;
  readonly seconds: number;
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly firstError?: string;
  /** CPU time the server used during the measured window (not the warm-up), when a probe was given. */
  readonly serverCpuMs?: number;
}

/** How long and how much one measurement may run. */
export interface LoadLimits {
  readonly concurrency: number;
  readonly durationMs: number;
  readonly maxRequests: number;
  readonly warmupMs: number;
}

/** One request of a load run: built per request, so its signature and path may change between requests. */
export interface LoadRequest {
  readonly method: 'GET' | 'POST' | 'PUT';
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body?: Buffer;
}

/**
 * Drives `call` against `origin` from `limits.concurrency` closed-loop callers, each on
 * its own keep-alive connection, after a warm-up that is not counted. Stops at the time
 * or count bound, whichever comes first. A non-2xx answer counts as an error (and is not
 * in the latency figures); the run never throws for one. `serverCpuMs`, when given, is read
 * just before and after the measured window (see LoadResult.serverCpuMs).
 */
export function runLoad(
  origin: string,
  signer: KmsSigner | undefined,
  call: KmsCall,
  limits: LoadLimits,
  serverCpuMs?: () => number,
): Promise<LoadResult> {
  const next = (): LoadRequest => ({
    method: 'POST',
    path: '/',
    headers: signer?.headers(call) ?? { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': call.target },
    body: call.body,
  });
  return runRequestLoad(origin, next, limits, serverCpuMs);
}

/**
 * runLoad for any request: `next()` is called once per request (warm-up included) and its
 * answer sent as is; only a 200 counts as done, anything else as an error (the run never
 * throws for one). Same measured window, latency and `serverCpuMs` probe as runLoad.
 */
export async function runRequestLoad(
  origin: string,
  next: () => LoadRequest,
  limits: LoadLimits,
  serverCpuMs?: () => number,
): Promise<LoadResult> {
  const pool = new Pool(origin, { connections: limits.concurrency, pipelining: 1, keepAliveTimeout: 60_000 });
  try {
    await drive(pool, next, limits.concurrency, limits.warmupMs, limits.maxRequests, undefined);
    const latencies = new Float64Array(limits.maxRequests);
    const cpu0 = serverCpuMs?.();
    const t0 = performance.now();
    const r = await drive(pool, next, limits.concurrency, limits.durationMs, limits.maxRequests, latencies);
    const seconds = (performance.now() - t0) / 1000;
    const cpu1 = serverCpuMs?.();
    const sorted = latencies.subarray(0, r.ok).sort();
    return {
      requests: r.ok,
      errors: r.errors,
      seconds,
      perSecond: r.ok / seconds,
      p50Ms: percentile(sorted, 0.5),
      p99Ms: percentile(sorted, 0.99),
      ...(r.firstError !== undefined ? { firstError: r.firstError } : {}),
      ...(cpu0 !== undefined && cpu1 !== undefined ? { serverCpuMs: cpu1 - cpu0 } : {}),
    };
  } finally {
    await pool.close();
  }
}

async function drive(
  pool: Pool,
  next: () => LoadRequest,
  concurrency: number,
  durationMs: number,
  maxRequests: number,
  latencies: Float64Array | undefined,
): Promise<{ ok: number; errors: number; firstError?: string }> {
  const end = performance.now() + durationMs;
  const state: { ok: number; errors: number; started: number; firstError?: string } = { ok: 0, errors: 0, started: 0 };
  const caller = async (): Promise<void> => {
    while (state.started < maxRequests && performance.now() < end) {
      state.started++;
      const req = next();
      const t = performance.now();
      const res = await pool.request(req);
      const text = await res.body.text();
      if (res.statusCode === 200) {
        if (latencies !== undefined) latencies[state.ok] = performance.now() - t;
        state.ok++;
      } else {
        state.errors++;
        state.firstError ??= `${res.statusCode} ${text.slice(0, 200)}`;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, caller));
  return state;
}

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** Sends one signed KMS call and returns its parsed JSON answer; raises on a non-2xx status. */
export async function kmsCall(origin: string, signer: KmsSigner, call: KmsCall): Promise<Record<string, unknown>> {
  const pool = new Pool(origin, { connections: 1 });
  try {
    const res = await pool.request({ path: '/', method: 'POST', headers: signer.headers(call), body: call.body });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`${call.target} answered ${res.statusCode}: ${text.slice(0, 300)}`);
    return JSON.parse(text) as Record<string, unknown>;
  } finally {
    await pool.close();
  }
}
