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
 *
 * `--max-semi-space-size=32 --min-semi-space-size=16`: the young generation. A 4 KiB SSE-KMS
 * PUT allocates ~85 KB, so V8's default semi-spaces (1 MB, growing to 16) were scavenged
 * every ~150 PUTs at c=32, each scavenge copying the requests in flight and promoting much
 * of what the previous one had copied. 40k such PUTs (s3-bench, --trace-gc-nvp, de78f9d):
 * audit off 174 scavenges and 4.5 KB copied per PUT, with these flags 80 and 0.9 KB (the
 * same on 1bfdc82, 3 runs each, alike within 3%); audit on 247 and 11 KB, with these 112 and
 * 9.9 KB (3 runs), most of it promoted (4.6 KB per PUT) whatever the young space's size.
 * audit-bench with both flag sets as the two servers of one run (same audit setting, rounds
 * alternating; 1bfdc82, 6 runs): unaudited server CPU per PUT 0.90x (0.79-0.98), PUT/s
 * 1.08x; audited CPU per PUT 0.93x there, but ~1.00x (0.97-1.03, 2 runs) on de78f9d, where
 * the audited PUT copies as much as before (on 1bfdc82 these flags halved it to 5.6 KB:
 * sensitive to the audit code, not understood). Fixed sizes (min = max, 16 or 32) copied as
 * much as the default. Large objects (64 MiB and 1 MiB SSE-KMS PUT and GET, 5 pairs): CPU per
 * MiB unchanged within noise, peak RSS ~20 MB higher (~222 vs ~203 MB).
 *
 * `--no-allocation-site-pretenuring`: what the audited PUT promoted above (the "not
 * understood") is V8's allocation-site pretenuring. With auditing on, V8 decides to allocate
 * some request-path object straight into old space; those objects are garbage a few ms later
 * but stay until the next mark-compact, and every young object they point to survives each
 * scavenge meanwhile and is promoted in turn: whole request graphs, ~8 KB per PUT. Which site
 * is not known: with the hold, the records and the KMS hook all cut out of a build, merely
 * storing the S3 request's `record` closure still turned it on (6.4 KB per PUT, against 0.37
 * without that closure), and moving the closure into the object literal or into a helper did
 * not turn it off. Without pretenuring (s3-bench --trace-gc-nvp, 4 KiB SSE-KMS PUTs, 22k):
 * audit on 0.68 KB promoted per PUT instead of 8.0, scavenge pauses 425 ms instead of
 * 990-1,240; audit off unchanged (0.37 KB, ~330 ms). audit-bench --workloads=s3, 6 pairs
 * alternating with the build without it (b34d04a + the flags above): audited server CPU per
 * PUT 0.83x (0.77-0.95), audited PUT/s 1.13x (1.01-1.19), unaudited unchanged, on/off ratio
 * 0.76 (0.69-0.82) against 0.69 (0.66-0.74). KMS calls: no change seen (2 pairs, noisy).
 * Large objects (64 MiB and 1 MiB SSE-KMS PUT and GET, 8 alternating pairs): CPU per MiB
 * unchanged (5 pairs at 14:35, medians with and without: 64 MiB PUT 2.13 / 2.19 ms, GET
 * 1.07 / 1.05, 1 MiB PUT 4.13 / 4.07, GET 1.90 / 1.90; the first 3 pairs had hinted at
 * 5-10% more for 64 MiB PUTs).
 */
export const SERVER_NODE_FLAGS: readonly string[] = ['--initial-old-space-size=128', '--max-semi-space-size=32', '--min-semi-space-size=16', '--no-allocation-site-pretenuring'];
