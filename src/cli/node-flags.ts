/**
 * The V8 flags `cipherlake server` runs with: package.json's `start` and `cipherlake` scripts
 * and the bin's shebang (src/cli/index.ts) carry them, the benchmarks start their servers with
 * them (as `npm start` does), and cluster workers inherit them (node:cluster forks with the
 * primary's execArgv). test/cli/node-flags.test.ts keeps those places in step with this list.
 *
 * `--initial-old-space-size=128`: the segment cipher (the native addon, or node:crypto without it) makes a fresh buffer for every 64 KiB segment it
 * encrypts or decrypts, and V8 (Node 20) counts those young backing stores against the old
 * generation's headroom (~24 MB on the server's ~15 MB heap), so a process that streams large
 * objects fell into a full mark-compact every 20–40 MB of plaintext, and stayed there. With
 * a 128 MB initial old space those collections stop (7 instead of 133 in one benchmark run) and
 * a 64 MiB SSE-KMS GET costs ~1.1–1.4 instead of ~2.0–2.2 ms of CPU per MiB (BENCHMARKS.md).
 * It is a GC threshold, not a reservation: memory is used only as the heap grows.
 */
export const SERVER_NODE_FLAGS: readonly string[] = ['--initial-old-space-size=128'];
