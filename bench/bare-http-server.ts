/**
 * The ceiling of the process model for bench/kms-bench.ts: a node:http server that reads
 * each request body and answers a constant JSON body of about the size of a
 * GenerateDataKey answer, with the same keep-alive settings as Cipherlake.
 *
 * Run: node dist/bench/bare-http-server.js [workers]   (0 or absent: one process)
 * With workers > 0, the primary forks that many node:cluster workers sharing the port.
 * Prints `PORT <n>` on stdout once every worker listens; exits on SIGTERM.
 */
import cluster from 'node:cluster';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const BODY = JSON.stringify({
  CiphertextBlob: 'A'.repeat(180),
  Plaintext: 'B'.repeat(44),
  KeyId: 'arn:aws:kms:us-east-1:000000000000:key/00000000-0000-4000-8000-000000000000',
});

function serve(): void {
  const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1', 'content-length': Buffer.byteLength(BODY) });
      res.end(BODY);
    });
  });
  server.listen(0, '127.0.0.1', () => {
    const port = (server.address() as AddressInfo).port;
    if (cluster.isWorker) process.send?.({ port });
    else process.stdout.write(`PORT ${port}\n`);
  });
  process.on('SIGTERM', () => process.exit(0));
}

const workers = Number(process.argv[2] ?? '0');
if (workers > 0 && cluster.isPrimary) {
  let ready = 0;
  for (let i = 0; i < workers; i++) {
    cluster.fork().on('message', (m: { port: number }) => {
      if (++ready === workers) process.stdout.write(`PORT ${m.port}\n`);
    });
  }
  process.on('SIGTERM', () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.kill('SIGTERM');
    setTimeout(() => process.exit(0), 200).unref();
  });
} else {
  serve();
}
