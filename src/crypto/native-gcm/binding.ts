import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/**
 * One AES-256-GCM key inside OpenSSL, for one direction (seal or open), held by the native
 * addon (aes_gcm.c). Its methods throw TypeError/RangeError for a bad argument (wrong type,
 * a nonce that is not 12 bytes, a tag that is not 16, `out` too small or overlapping the
 * input) and an Error after `dispose`. Nothing here logs or puts bytes in a message.
 */
export interface NativeGcmKey {
  /**
   * Encrypts the concatenation of `pieces` into `out` at `outOffset` (default 0), then writes
   * the 16-byte tag after it. Returns the bytes written (plaintext length + 16).
   */
  seal(nonce: Uint8Array, aad: Uint8Array, pieces: Uint8Array | readonly Uint8Array[], out: Uint8Array, outOffset?: number): number;
  /**
   * Decrypts the concatenation of `pieces` into `out` at `outOffset` and checks `tag`.
   * Returns false on a bad tag, after zeroing every byte it wrote: unauthenticated
   * plaintext never stays in `out`.
   */
  open(nonce: Uint8Array, aad: Uint8Array, pieces: Uint8Array | readonly Uint8Array[], tag: Uint8Array, out: Uint8Array, outOffset?: number): boolean;
  /**
   * Opens a batch of segments on the libuv thread pool, off the calling thread: segment
   * `firstSegment + i` (its number written big-endian into bytes 8..11 of a copy of `nonce`)
   * from `ciphertexts[i]` with `tags[i]` into `outs[i]` (as long as its ciphertext; exactly in
   * place is allowed), under `aad`, or `finalAad` for the last segment when `finalLast`.
   * Resolves true once every tag verified; false at the first that does not, after zeroing
   * every out of the batch (no plaintext of a refused batch stays in any out). The work runs
   * on a copy of this key's context (it may be disposed meanwhile; the copy is freed, so
   * cleansed, on the pool thread when the batch is done) and holds a reference to every
   * buffer it was given until it completes; `aad`, `finalAad` and `nonce` are copied. The
   * caller must not write to the ciphertexts or read the outs before it resolves. Throws
   * (TypeError/RangeError, nothing scheduled) for a bad argument: 1 to 256 segments, tags
   * of 16 bytes, aads of at most 1 MiB, segment numbers below 2^32, an out overlapping a tag,
   * another out or another segment's ciphertext.
   */
  openBatch(
    nonce: Uint8Array,
    firstSegment: number,
    aad: Uint8Array,
    finalAad: Uint8Array,
    finalLast: boolean,
    ciphertexts: readonly Uint8Array[],
    tags: readonly Uint8Array[],
    outs: readonly Uint8Array[],
  ): Promise<boolean>;
  /** Frees the OpenSSL context; OpenSSL cleanses the key schedule. Idempotent. */
  dispose(): void;
}

/** What the addon exports. The one-shot forms key a fresh context per call. */
export interface NativeGcmBinding {
  readonly GcmKey: new (key: Uint8Array, encrypt: boolean) => NativeGcmKey;
  seal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, pieces: Uint8Array | readonly Uint8Array[], out: Uint8Array, outOffset?: number): number;
  open(
    key: Uint8Array,
    nonce: Uint8Array,
    aad: Uint8Array,
    pieces: Uint8Array | readonly Uint8Array[],
    tag: Uint8Array,
    out: Uint8Array,
    outOffset?: number,
  ): boolean;
  /**
   * AES-256-GCM under the key HKDF-SHA256(ikm, salt, info, L = 32) (RFC 5869) in one call:
   * the concatenation of `pieces` sealed into `out` at `outOffset`, then the 16-byte tag.
   * Returns the bytes written. The derived key exists only on the C stack and is cleansed
   * before return. `out` may hold the plaintext exactly in place and overlaps no other input.
   * ikm, salt and info are at most 1 MiB each (RangeError otherwise).
   */
  hkdfGcmSeal(
    ikm: Uint8Array,
    salt: Uint8Array,
    info: Uint8Array,
    nonce: Uint8Array,
    aad: Uint8Array,
    pieces: Uint8Array | readonly Uint8Array[],
    out: Uint8Array,
    outOffset?: number,
  ): number;
  /**
   * The inverse of hkdfGcmSeal: false on a bad tag, after zeroing every byte it wrote (no
   * unauthenticated plaintext stays in `out`). `out` overlaps no input, not even in place.
   */
  hkdfGcmOpen(
    ikm: Uint8Array,
    salt: Uint8Array,
    info: Uint8Array,
    nonce: Uint8Array,
    aad: Uint8Array,
    pieces: Uint8Array | readonly Uint8Array[],
    tag: Uint8Array,
    out: Uint8Array,
    outOffset?: number,
  ): boolean;
  /**
   * Sets glibc's M_TRIM_THRESHOLD (free heap kept instead of returned to the kernel); false
   * off glibc. Process-wide: for the server's entry point only (see retainFreedHeapForServer).
   */
  retainFreedHeap(bytes: number): boolean;
}

/** Whether the native cipher is in use, and if not why (for the startup log; no secrets). */
export type NativeGcmStatus =
  | { readonly loaded: true; readonly path: string }
  | { readonly loaded: false; readonly reason: 'disabled' | 'unavailable'; readonly detail: string };

/**
 * Set to `off` to use node:crypto instead of the addon (tests of the fallback, or a
 * deployment that must not load native code). Any other value, or none, loads it.
 */
export const NATIVE_GCM_ENV = 'CIPHERLAKE_NATIVE_GCM';

/**
 * How the server's startup warning begins when the addon could not be loaded (main.ts): one
 * text, so that what reads the log for it (audit-bench) finds it however the rest is worded.
 */
export const NATIVE_GCM_NOT_LOADED_LOG = 'native AES-GCM addon not loaded';

const ADDON = 'cipherlake_aes_gcm.node';

/**
 * node-gyp puts the addon in <package root>/build/Release/. This file runs from
 * src/crypto/native-gcm/ (tsx) or dist/src/crypto/native-gcm/ (built): look up from here.
 */
function addonPath(): string | undefined {
  let dir = new URL('.', import.meta.url);
  for (let up = 0; up < 5; up++) {
    const candidate = new URL(`build/Release/${ADDON}`, dir);
    if (existsSync(candidate)) return fileURLToPath(candidate);
    dir = new URL('..', dir);
  }
  return undefined;
}

/**
 * Whether `binding` has every entry point this code calls. An addon built from an older
 * aes_gcm.c (a build/Release left from before a pull) lacks the newer ones: it is refused
 * whole, so node:crypto is used until `npm ci` rebuilds it, never half of it.
 */
export function hasEveryEntryPoint(binding: unknown): binding is NativeGcmBinding {
  if (typeof binding !== 'object' || binding === null) return false;
  const b = binding as Partial<Record<keyof NativeGcmBinding, unknown>>;
  const functions: ReadonlyArray<keyof NativeGcmBinding> = ['GcmKey', 'seal', 'open', 'hkdfGcmSeal', 'hkdfGcmOpen', 'retainFreedHeap'];
  if (!functions.every((name) => typeof b[name] === 'function')) return false;
  const proto = (b.GcmKey as { prototype?: Record<string, unknown> }).prototype;
  return ['seal', 'open', 'openBatch', 'dispose'].every((name) => typeof proto?.[name] === 'function');
}

function load(): { binding: NativeGcmBinding | undefined; status: NativeGcmStatus } {
  if (process.env[NATIVE_GCM_ENV] === 'off') {
    return { binding: undefined, status: { loaded: false, reason: 'disabled', detail: `${NATIVE_GCM_ENV}=off` } };
  }
  const path = addonPath();
  if (path === undefined) {
    return { binding: undefined, status: { loaded: false, reason: 'unavailable', detail: `build/Release/${ADDON} not found (npm install builds it)` } };
  }
  try {
    const binding: unknown = createRequire(import.meta.url)(path);
    if (!hasEveryEntryPoint(binding)) throw new Error('unexpected exports (an addon built from an older aes_gcm.c: npm ci rebuilds it)');
    return { binding, status: { loaded: true, path } };
  } catch (err) {
    return { binding: undefined, status: { loaded: false, reason: 'unavailable', detail: (err as Error).message } };
  }
}

const loaded = load();

/** The addon, or undefined when it is disabled or could not be loaded (callers fall back to node:crypto). */
export function nativeGcm(): NativeGcmBinding | undefined {
  return loaded.binding;
}

/**
 * Free heap the server keeps rather than trims: a 64 MiB GET frees ~16 MiB of segment buffers
 * per V8 collection; below that glibc keeps trimming and re-faulting them (8 MiB did not help,
 * 32 MiB did: 40-70 page faults per MiB down to 1 in a 64 MiB GET, src/crypto/native-gcm/README.md).
 */
const SERVER_TRIM_THRESHOLD = 32 * 1024 * 1024;

/**
 * For the server process's entry point only: keeps up to 32 MiB of freed heap instead of
 * giving it back to the kernel after every burst of segment buffers (glibc; the addon must be
 * loaded). Returns whether the setting took. Changes the whole process's allocator policy:
 * never call it from a library path or a test.
 */
export function retainFreedHeapForServer(): boolean {
  return loaded.binding?.retainFreedHeap(SERVER_TRIM_THRESHOLD) ?? false;
}

/** Why the addon is or is not in use; the server logs it once at startup. */
export function nativeGcmStatus(): NativeGcmStatus {
  return loaded.status;
}
