// NBD benchmark: the encrypted volume against an unencrypted in-process export served by
// the same NbdServer, so the ratio is the cost of encryption and locking alone.
// Run: node --import tsx bench/nbd-bench.ts [sizeMiB=256] [randomOps=20000]
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { randomInt } from 'node:crypto';
import { join } from 'node:path';
import { SecretBytes } from '../src/crypto/secret-bytes.js';
import { EncryptedVolume } from '../src/volumes/encrypted-volume.js';
import { MapExportRegistry, NbdServer } from '../src/volumes/nbd/index.js';
import { tempDir, writeSeededImage } from '../test/volumes/nbd-harness.js';
import { RawNbdClient } from '../test/volumes/raw-nbd-client.js';
import { PlainFileDevice } from './plain-file-device.js';

const MiB = 1024 * 1024;
const sizeMiB = Number(process.argv[2] ?? 256);
const randomOps = Number(process.argv[3] ?? 20_000);
const SIZE = sizeMiB * MiB;
const QUEUE_DEPTH = 16;

const run = promisify(execFile);

/** Seconds taken by a tool; async, because the server under test runs in this process. */
async function timedTool(command: string, args: string[]): Promise<number> {
  const start = process.hrtime.bigint();
  await run(command, args);
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** 4 KiB requests at random aligned offsets, QUEUE_DEPTH in flight; returns IOPS. */
async function randomIops(port: number, name: string, type: 0 | 1): Promise<number> {
  const client = await RawNbdClient.connect(port);
  await client.go(name);
  const block = Buffer.alloc(4096, 0x33);
  const lengths = new Map<number, number>();
  let sent = 0;
  const issue = (): void => {
    const handle = sent++;
    if (type === 0) lengths.set(handle, 4096);
    client.request(type, handle, randomInt(SIZE / 4096) * 4096, 4096, type === 1 ? block : undefined);
  };
  const start = process.hrtime.bigint();
  for (let i = 0; i < QUEUE_DEPTH; i++) issue();
  for (let done = 0; done < randomOps; done++) {
    const reply = await client.reply(lengths);
    if (reply === undefined || reply.error !== 0) throw new Error(`request failed: ${JSON.stringify(reply)}`);
    lengths.delete(reply.handle);
    if (sent < randomOps) issue();
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  client.close();
  return randomOps / seconds;
}

async function main(): Promise<void> {
  const dir = tempDir('cl-nbd-bench-');
  try {
    const source = join(dir.path, 'source.raw');
    writeSeededImage(source, 'bench', SIZE);
    const registry = new MapExportRegistry();
    const encrypted = await EncryptedVolume.create(join(dir.path, 'enc.vol'), SIZE, SecretBytes.random(64));
    const plain = await PlainFileDevice.create(join(dir.path, 'plain.raw'), SIZE);
    registry.attach('enc', encrypted);
    registry.attach('plain', plain);
    const server = new NbdServer({ registry, port: 0 });
    const { port } = await server.listen();
    const uri = (name: string): string => `nbd://127.0.0.1:${port}/${name}`;
    const rows: Array<[string, number, number, string]> = [];
    const seq = async (label: string, args: (n: string) => string[]): Promise<void> => {
      const enc = SIZE / MiB / (await timedTool('nbdcopy', args('enc')));
      const pl = SIZE / MiB / (await timedTool('nbdcopy', args('plain')));
      rows.push([label, enc, pl, 'MiB/s']);
    };
    await seq('seq write (nbdcopy file -> nbd)', (n) => [source, uri(n)]);
    await seq('seq read (nbdcopy nbd -> null:)', (n) => [uri(n), 'null:']);
    for (const [label, type] of [['4K random read', 0], ['4K random write', 1]] as const) {
      rows.push([`${label} (QD${QUEUE_DEPTH})`, await randomIops(port, 'enc', type), await randomIops(port, 'plain', type), 'IOPS']);
    }
    printTable(rows);
    await server.close();
    await encrypted.close();
    await plain.close();
  } finally {
    dir.cleanup();
  }
}

function printTable(rows: Array<[string, number, number, string]>): void {
  console.log(`NBD benchmark, ${sizeMiB} MiB volume, ${randomOps} random ops, node ${process.version}`);
  console.log('| test | encrypted | plain | unit | ratio enc/plain |');
  console.log('| --- | ---: | ---: | --- | ---: |');
  for (const [label, enc, pl, unit] of rows) {
    console.log(`| ${label} | ${enc.toFixed(0)} | ${pl.toFixed(0)} | ${unit} | ${(enc / pl).toFixed(2)} |`);
  }
}

await main();
