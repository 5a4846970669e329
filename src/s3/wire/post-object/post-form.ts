/**
 * The multipart/form-data body of a POST Object (browser upload), read with busboy: the
 * fields before the `file` part, bounded as S3 bounds them, then the file as a stream.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/RESTObjectPOST.html
 */
import type { IncomingMessage } from 'node:http';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import busboy from 'busboy';
import { IncompleteBodyError, MalformedPostRequestError, MaxPostPreDataLengthExceededError, PostFieldError, PreconditionFailedError } from '../../errors.js';

/** S3's bound on the form before the file: "The form data and boundaries (excluding the contents of the file) cannot exceed 20KB" (20,480 bytes in its answers). */
export const MAX_POST_PRE_DATA_BYTES = 20 * 1024;

/** One field of the form, as sent. */
export interface PostField {
  /** The name as the form spelt it (S3's messages name fields as sent). */
  readonly name: string;
  readonly value: string;
}

/** The form of a POST Object up to its file part. */
export interface PostForm {
  /** The fields before the file, by lower-cased name (field names are case-insensitive); the first of a repeated name wins. */
  readonly fields: ReadonlyMap<string, PostField>;
  /** The file part's content, streamed from the request (paused until read). */
  readonly file: FileStream;
  /**
   * The file part's file name, its path cut after the last slash or backslash (as S3 does
   * for `${filename}`); undefined when the part names none.
   */
  readonly filename: string | undefined;
  /** Stops reading the form: the rest of the request is drained and discarded (after a refusal). */
  readonly abandon: () => void;
  /**
   * Stops reading the request for good (after the file was stored, when the client is still
   * sending parts after it): nothing more is read, so the caller must close the connection
   * after its answer.
   */
  readonly stopReading: () => void;
}

/**
 * Reads `req` up to its `file` part. Raises (rejects with) PreconditionFailedError for a body
 * that is not multipart/form-data (S3's 412), MalformedPostRequestError for one that does not
 * parse, MaxPostPreDataLengthExceededError once the fields before the file pass
 * MAX_POST_PRE_DATA_BYTES, and PostFieldError (InvalidArgument) when the form has no `file` part. Parts
 * after the file are read and ignored, as S3 ignores them, until the answer (see stopReading); a later parse error or a client
 * gone mid-file destroys `file` with MalformedPostRequestError or IncompleteBodyError. Never
 * buffers the file.
 */
export function readPostForm(req: IncomingMessage): Promise<PostForm> {
  const type = req.headers['content-type'] ?? '';
  if (!/^multipart\/form-data\b/i.test(type)) {
    throw new PreconditionFailedError('At least one of the pre-conditions you specified did not hold', { condition: 'Bucket POST must be of the enclosure-type multipart/form-data' });
  }
  let parser: busboy.Busboy;
  try {
    // The limits bound what busboy keeps of a field; the total is checked below. File names
    // are UTF-8, as browsers send them ("The form and policy must be UTF-8 encoded"), not
    // busboy's default latin1.
    parser = busboy({ headers: req.headers, defParamCharset: 'utf8', limits: { fieldSize: MAX_POST_PRE_DATA_BYTES + 1, fieldNameSize: MAX_POST_PRE_DATA_BYTES + 1 } });
  } catch (err) {
    throw new MalformedPostRequestError('', { cause: err });
  }
  return new Promise((resolve, reject) => new FormReader(req, parser, resolve, reject).start());
}

/** One form being read: the fields until the file, then only the file. */
class FormReader {
  readonly #fields = new Map<string, PostField>();
  #preData = 0;
  /** The request as busboy reads it: sliced until the file part, so the bytes read before it are counted (S3's bound holds boundaries and part headers too). */
  readonly #slicer = new PreDataSlicer();
  /** The bytes busboy read before the file part, boundaries, part headers and skipped parts included (to within a slice). */
  #rawPreData = 0;
  /** Fields sent as parts with a file name, before the file, still being read (their end comes a tick after the next part began). */
  readonly #pendingFields: Promise<void>[] = [];
  #file: FileStream | undefined;
  #failed = false;

  constructor(
    private readonly req: IncomingMessage,
    private readonly parser: busboy.Busboy,
    private readonly resolve: (form: PostForm) => void,
    private readonly reject: (err: Error) => void,
  ) {}

  start(): void {
    this.parser.on('field', (name: string, value: string, info: busboy.FieldInfo) => this.#field(name, value, info.nameTruncated || info.valueTruncated));
    this.parser.on('file', (name: string, stream: Readable, info: busboy.FileInfo) => this.#filePart(name, stream, info.filename));
    this.parser.on('error', (err: unknown) => this.#fail(new MalformedPostRequestError('', { cause: err })));
    this.parser.on('close', () => {
      if (this.#file === undefined) this.#fail(new PostFieldError('POST requires exactly one file upload per request.', { name: 'file', value: '0' }));
    });
    // A client gone before the end: the form (or the file) is incomplete.
    this.req.on('close', () => {
      if (!this.req.complete) this.#fail(new IncompleteBodyError(''));
    });
    // The slicer's 'data' listener runs after the pipe's: busboy has read the slice (and
    // announced the file part if it began in it) when it is counted. Busboy emits nothing for
    // a part without a form-data Content-Disposition, nor for the bytes around fields: counted
    // only here, they would let a client send an endless form before its file.
    this.#slicer.pipe(this.parser);
    this.#slicer.on('data', (slice: Buffer) => this.#readBeforeFile(slice.length));
    this.req.pipe(this.#slicer);
  }

  #readBeforeFile(bytes: number): void {
    if (this.#file !== undefined || this.#failed) return;
    this.#rawPreData += bytes;
    if (this.#rawPreData > MAX_POST_PRE_DATA_BYTES) this.#fail(new MaxPostPreDataLengthExceededError('', MAX_POST_PRE_DATA_BYTES));
  }

  /** `beforeFile`: a part that began before the file, whatever has been read since. */
  #field(name: string, value: string, truncated: boolean, beforeFile = this.#file === undefined): void {
    if (!beforeFile) return; // after the file: ignored, as S3 does
    this.#preData += Buffer.byteLength(name) + Buffer.byteLength(value);
    if (truncated || this.#preData > MAX_POST_PRE_DATA_BYTES) {
      this.#fail(new MaxPostPreDataLengthExceededError('', MAX_POST_PRE_DATA_BYTES));
      return;
    }
    const key = name.toLowerCase();
    if (!this.#fields.has(key)) this.#fields.set(key, { name, value });
  }

  #filePart(name: string, stream: Readable, filename: string | undefined): void {
    if (this.#file !== undefined || this.#failed) {
      stream.resume();
      return;
    }
    if (name.toLowerCase() !== 'file') {
      // Only the part named `file` is the file; another part sent with a file name is a field.
      this.#fileAsField(name, stream);
      return;
    }
    const file = new FileStream();
    this.#file = file;
    this.#slicer.slicing = false;
    stream.on('error', (err: unknown) => file.destroy(new MalformedPostRequestError('', { cause: err })));
    stream.pipe(file);
    const form: PostForm = { fields: this.#fields, file, filename: filename === undefined ? undefined : baseName(filename), abandon: () => this.#drain(), stopReading: () => this.#stop() };
    if (this.#pendingFields.length === 0) this.resolve(form);
    else
      void Promise.all(this.#pendingFields).then(() => {
        if (!this.#failed) this.resolve(form);
      });
  }

  #fileAsField(name: string, stream: Readable): void {
    const chunks: Buffer[] = [];
    // Bounds what is buffered; the field counts toward the total once, when #field takes it.
    let size = Buffer.byteLength(name);
    stream.on('data', (c: Buffer) => {
      size += c.length;
      if (this.#preData + size > MAX_POST_PRE_DATA_BYTES) {
        this.#fail(new MaxPostPreDataLengthExceededError('', MAX_POST_PRE_DATA_BYTES));
        stream.resume();
        return;
      }
      chunks.push(c);
    });
    this.#pendingFields.push(
      new Promise<void>((done) => {
        stream.on('end', () => {
          if (!this.#failed) this.#field(name, Buffer.concat(chunks).toString('utf8'), false, true);
          done();
        });
        stream.on('close', () => done());
      }),
    );
  }

  /** Rejects the form (until it is resolved) and destroys the file (once it began); drains the rest of the request. */
  #fail(err: Error): void {
    if (this.#failed) return;
    this.#failed = true;
    if (this.#file !== undefined && !this.#file.writableFinished) this.#file.destroy(err);
    // A no-op once the form was resolved (the file then carries the error); before, the refusal.
    this.reject(err);
    this.#drain();
  }

  #drain(): void {
    this.req.unpipe(this.#slicer);
    this.req.resume();
  }

  #stop(): void {
    this.req.unpipe(this.#slicer);
    this.req.pause();
  }
}

/** The name after the last slash or backslash: what S3 substitutes for `${filename}`. */
function baseName(filename: string): string {
  const cut = Math.max(filename.lastIndexOf('/'), filename.lastIndexOf('\\'));
  return filename.slice(cut + 1);
}

/** The size of the slices PreDataSlicer passes on: how far past MAX_POST_PRE_DATA_BYTES the count may be before it refuses. */
const PRE_DATA_SLICE = 1024;

/** Passes the request on in slices of PRE_DATA_SLICE bytes while `slicing` (before the file part), then as it comes. */
class PreDataSlicer extends Transform {
  slicing = true;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    if (!this.slicing || chunk.length <= PRE_DATA_SLICE) {
      done(null, chunk);
      return;
    }
    for (let at = 0; at < chunk.length; at += PRE_DATA_SLICE) this.push(chunk.subarray(at, at + PRE_DATA_SLICE));
    done();
  }
}

/** The file part as it flows to the write path, counting its bytes (for content-length-range). */
export class FileStream extends Transform {
  /** The bytes passed through so far; the file's size once it ended. */
  bytes = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    done(null, chunk);
  }
}
