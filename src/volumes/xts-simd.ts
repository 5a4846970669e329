import type { Cipher, Decipher } from 'node:crypto';

/**
 * The XOR-and-tweak passes of XTS (`xts-mode.ts`) as one small WebAssembly SIMD function,
 * about twice as fast per byte as the same loop in JavaScript here (measured: 0.19 against
 * 0.43 CPU ms per MiB and pass; `node --import tsx bench/nbd-bench.ts xts` for the whole).
 * It holds no key and does no AES: OpenSSL's ECB does that between the two passes.
 *
 * `mask(t0, src, dst, units, unitBytes, flags)`, all byte offsets into its memory: for each
 * unit i, T = the 16 bytes at t0 + 16 i; for each 16-byte block of the unit,
 * dst = src ⊕ T, then T = T · α in GF(2^128) — as two 64-bit lanes [lo, hi]:
 * T' = (T << 1 per lane) ⊕ ((swap(T >> 63 per lane)) × [0x87, 1]), i.e. the carry out of lo
 * enters hi and the carry out of hi folds back into lo as 0x87. WebAssembly memory is
 * little-endian on every host, so this is IEEE 1619's byte order everywhere. The byte at
 * flags + i becomes 1 if the unit's source had a non-zero byte, else 0.
 *
 * Self-contained like `xts-mode.ts` (embedded in the XTS worker by source: XTS_SIMD_SOURCE).
 */
export interface XtsSimd {
  readonly memory: WasmMemory;
  readonly mask: (t0: number, src: number, dst: number, units: number, unitBytes: number, flags: number) => void;
}

/** The part of WebAssembly.Memory used here (the project's TypeScript libs declare no WebAssembly). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

/** The part of the global WebAssembly object used here. */
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  readonly Module: new (bytes: Uint8Array) => object;
  readonly Instance: new (module: object, imports: object) => { readonly exports: Record<string, unknown> };
}

/** The module's bytes, assembled from the opcodes named below (WebAssembly 2.0 + SIMD). */
function xtsSimdModuleBytes(): Uint8Array {
  const uleb = (n: number): number[] => {
    const out: number[] = [];
    do {
      const low = n & 0x7f;
      n >>>= 7;
      out.push(n === 0 ? low : low | 0x80);
    } while (n !== 0);
    return out;
  };
  const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
  const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
  const name = (s: string): number[] => vec([...s].map((c) => [c.charCodeAt(0)]));
  // Locals: params t0 src dst units unitBytes flags, then i p end (i32), T acc d c (v128).
  const [t0, src, dst, units, unitBytes, flags, i, p, end, T, acc, d, c] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
  const get = (l: number): number[] => [0x20, l];
  const set = (l: number): number[] => [0x21, l];
  const tee = (l: number): number[] => [0x22, l];
  const i32 = (n: number): number[] => [0x41, n]; // n < 64: one-byte signed LEB128
  const simd = (op: number, ...imm: number[]): number[] => [0xfd, ...uleb(op), ...imm];
  const load = simd(0x00, 0, 0); // v128.load align=1 offset=0
  const store = simd(0x0b, 0, 0); // v128.store
  const [or, xor, anyTrue, shl, shrU, mul] = [simd(0x50), simd(0x51), simd(0x53), simd(0xcb), simd(0xcd), simd(0xd5)];
  const swapLanes = simd(0x0d, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7); // i8x16.shuffle
  const feedback = simd(0x0c, 0x87, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0); // v128.const i64x2 0x87 1
  const zero = simd(0x0c, ...new Array<number>(16).fill(0));
  const add = 0x6a;
  const body = [
    0x02, 0x40, 0x03, 0x40, // block $done, loop $units
    ...get(i), ...get(units), 0x4f, 0x0d, 1, // br_if $done (i >= units)
    ...get(t0), ...get(i), ...i32(4), 0x74, add, ...load, ...set(T), // T = load(t0 + i << 4)
    ...zero, ...set(acc),
    ...get(p), ...get(unitBytes), add, ...set(end),
    0x03, 0x40, // loop $blocks
    ...get(src), ...get(p), add, ...load, ...set(d),
    ...get(acc), ...get(d), ...or, ...set(acc),
    ...get(dst), ...get(p), add, ...get(d), ...get(T), ...xor, ...store,
    ...get(T), ...i32(1), ...shl, ...get(T), ...i32(63), ...shrU, ...tee(c), ...get(c), ...swapLanes,
    ...feedback, ...mul, ...xor, ...set(T),
    ...get(p), ...i32(16), add, ...tee(p), ...get(end), 0x49, 0x0d, 0, // br_if $blocks (p < end)
    0x0b, // end $blocks
    ...get(flags), ...get(i), add, ...get(acc), ...anyTrue, 0x3a, 0, 0, // i32.store8
    ...get(i), ...i32(1), add, ...set(i),
    0x0c, 0, 0x0b, 0x0b, 0x0b, // br $units, end, end, end of function
  ];
  const code = [...vec([[3, 0x7f], [4, 0x7b]]), ...body];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    ...section(1, vec([[0x60, ...vec([[0x7f], [0x7f], [0x7f], [0x7f], [0x7f], [0x7f]]), 0]])),
    ...section(3, vec([[0]])),
    ...section(5, vec([[0x00, 1]])), // one memory, 1 page to start, grown on demand
    ...section(7, vec([[...name('memory'), 0x02, 0], [...name('mask'), 0x00, 0]])),
    ...section(10, vec([[...uleb(code.length), ...code]])),
  ]);
}

/**
 * Compiles and instantiates the kernel (synchronously: it is a few hundred bytes). Returns
 * undefined if this engine has no WebAssembly SIMD; callers then use the JavaScript passes.
 */
export function xtsSimdCreate(): XtsSimd | undefined {
  const bytes = xtsSimdModuleBytes();
  const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  if (wasm === undefined || !wasm.validate(bytes)) return undefined;
  const exports = new wasm.Instance(new wasm.Module(bytes), {}).exports;
  return { memory: exports.memory as WasmMemory, mask: exports.mask as XtsSimd['mask'] };
}

/**
 * One XTS pass pair through the kernel: T_0 of each unit in `t0` (16 bytes per unit),
 * `cipher` the ECB under K1 (encrypting or decrypting). Returns a new Buffer owning its
 * ArrayBuffer; never modifies `data`. Zeroes the memory it used before returning, so no
 * intermediate (P ⊕ T, C ⊕ T) stays behind. With `keepZeroUnits`, an all-zero input unit
 * gives an all-zero output unit. At most 1 MiB of `data` per call (the caller chunks).
 */
export function xtsSimdApply(simd: XtsSimd, cipher: Cipher | Decipher, t0: Uint8Array, data: Uint8Array, unitSize: number, keepZeroUnits: boolean): Buffer {
  const units = data.length / unitSize;
  const flagsAt = units * 16;
  const dataAt = (flagsAt + 2 * units + 15) & ~15;
  const need = dataAt + data.length;
  const have = simd.memory.buffer.byteLength;
  if (have < need) simd.memory.grow(Math.ceil((need - have) / 65536));
  const m = new Uint8Array(simd.memory.buffer, 0, need);
  try {
    m.set(t0, 0);
    m.set(data, dataAt);
    simd.mask(0, dataAt, dataAt, units, unitSize, flagsAt);
    const out = cipher.update(m.subarray(dataAt));
    m.set(out, dataAt);
    simd.mask(0, dataAt, dataAt, units, unitSize, flagsAt + units);
    out.set(m.subarray(dataAt));
    if (keepZeroUnits) {
      for (let i = 0; i < units; i++) if (m[flagsAt + i] === 0) out.fill(0, i * unitSize, (i + 1) * unitSize);
    }
    return out;
  } finally {
    // Tweaks and the plaintext (or its masked form) never stay in the module's memory, even
    // when the cipher throws (a closed cipher object, for one).
    m.fill(0);
  }
}

/** This module's functions as source, for the XTS worker to embed (see XTS_MODE_SOURCE). */
export const XTS_SIMD_SOURCE = [xtsSimdModuleBytes, xtsSimdCreate, xtsSimdApply].map((f) => f.toString()).join('\n');
