import type { FileHandle } from 'node:fs/promises';

/**
 * Fills `buffer` from `position`; bytes past the end of the file read as zeros (a
 * sparse or short file is not an error). Rejects only with the fs error.
 */
export async function readFully(file: FileHandle, buffer: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < buffer.length) {
    const { bytesRead } = await file.read(buffer, done, buffer.length - done, position + done);
    if (bytesRead === 0) {
      buffer.fill(0, done);
      return;
    }
    done += bytesRead;
  }
}

/**
 * Writes `buffers` back to back from `position` with vectored writes, continuing after a
 * short write. Never copies a buffer unless a write stopped in its middle.
 */
export async function writeFully(file: FileHandle, buffers: readonly Buffer[], position: number): Promise<void> {
  let pending = buffers.filter((b) => b.length > 0);
  let at = position;
  while (pending.length > 0) {
    // IOV_MAX is 1024 on Linux; larger arrays are split by libuv anyway, but stay polite.
    const batch = pending.slice(0, 1024);
    const { bytesWritten } = await file.writev(batch, at);
    at += bytesWritten;
    pending = dropWritten(pending, bytesWritten);
  }
}

function dropWritten(buffers: Buffer[], written: number): Buffer[] {
  let left = written;
  let index = 0;
  while (index < buffers.length && left >= (buffers[index]?.length ?? 0)) {
    left -= buffers[index]?.length ?? 0;
    index++;
  }
  const rest = buffers.slice(index);
  const head = rest[0];
  if (head !== undefined && left > 0) rest[0] = head.subarray(left);
  return rest;
}
