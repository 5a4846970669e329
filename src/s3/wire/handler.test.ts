import assert from 'node:assert/strict';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { test } from 'node:test';
import { AnswerHold } from './handler.js';

function response(): ServerResponse {
  return new ServerResponse(new IncomingMessage(new Socket()));
}

function gate(): { readonly commit: () => Promise<void>; readonly open: () => void } {
  let open = (): void => undefined;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { commit: () => opened, open };
}

test('writableNeedDrain reports each response’s own hold: queued writes while held, node:http’s answer before and after', async () => {
  const held = response();
  const idle = response();
  const plain = response();
  const g = gate();
  const hold = new AnswerHold(held, g.commit);
  new AnswerHold(idle, gate().commit);
  assert.equal(held.writableNeedDrain, false);
  held.writeHead(200);
  assert.equal(held.writableNeedDrain, false, 'holding with nothing queued');
  assert.equal(held.write('a'), false, 'a held write reports backpressure');
  assert.equal(held.writableNeedDrain, true);
  // Another response's hold and a response without one are unaffected by this hold's queue.
  assert.equal(idle.writableNeedDrain, false);
  assert.equal(plain.writableNeedDrain, false);
  g.open();
  await hold.done;
  assert.equal(held.writableNeedDrain, false, 'released, nothing buffered: node:http answers false');
  // Released: node:http's own backpressure shows through (true once a write overflows its
  // buffer on this unconnected socket), as it does for a response that was never held.
  plain.writeHead(200);
  const big = Buffer.alloc(1024 * 1024);
  assert.equal(plain.write(big), false);
  assert.equal(plain.writableNeedDrain, true, 'node:http: a write past the buffer needs a drain');
  assert.equal(held.write(big), false);
  assert.equal(held.writableNeedDrain, true, 'released: node:http answers again');
});

test('the accessor lives on the prototype, not on each response', () => {
  const res = response();
  new AnswerHold(res, gate().commit);
  assert.equal(Object.getOwnPropertyDescriptor(res, 'writableNeedDrain'), undefined);
  assert.notEqual(Object.getOwnPropertyDescriptor(ServerResponse.prototype, 'writableNeedDrain')?.get, undefined);
});

test('a response class derived from one already seen answers too (its accessor does not ask the parent’s, which would ask the hold back)', async () => {
  class Derived extends ServerResponse {}
  new AnswerHold(response(), gate().commit);
  const held = new Derived(new IncomingMessage(new Socket()));
  const g = gate();
  const hold = new AnswerHold(held, g.commit);
  assert.equal(held.writableNeedDrain, false, 'open: node:http’s answer');
  held.writeHead(200, { 'content-length': 1 });
  assert.equal(held.write('a'), false);
  assert.equal(held.writableNeedDrain, true, 'holding a queued write');
  const plain = new Derived(new IncomingMessage(new Socket()));
  assert.equal(plain.writableNeedDrain, false);
  g.open();
  await hold.done;
  assert.equal(held.writableNeedDrain, false, 'released: node:http’s answer');
});
