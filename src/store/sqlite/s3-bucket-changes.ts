import { ChangeWatch } from '../../common/change-watch.js';
import type { SqliteDatabase } from './database.js';
import { PublishedCount } from './published-count.js';

/**
 * The count of writes of S3 bucket configuration (s3_buckets, s3_bucket_access), moved by
 * triggers in each writing transaction, whoever writes: what the bucket record and bucket
 * policy caches of SqliteS3MetadataStore and SqliteBucketAccessStore are kept exact by.
 */
const CHANGES_TABLE = `
CREATE TABLE IF NOT EXISTS s3_bucket_changes (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  n INTEGER NOT NULL
);
INSERT OR IGNORE INTO s3_bucket_changes (id, n) VALUES (1, 0);
`;

const COUNT_SQL = 'SELECT n FROM s3_bucket_changes WHERE id = 1';

/** Largest number of buckets a cache holds before it starts over. */
const MAX_CACHED = 10_000;

/**
 * What the BucketChanges of one connection share: the published count (one file descriptor,
 * and one 8-byte read per run for both stores, not one each) and its once-per-run check, which
 * drops every member's cache; a write through one store forgets what the other cached too.
 */
interface ConnectionChanges {
  readonly published: PublishedCount | undefined;
  readonly watch: ChangeWatch | undefined;
  readonly members: Set<BucketChanges<unknown>>;
}

const ofConnection = new WeakMap<SqliteDatabase, ConnectionChanges>();

function connectionChanges(db: SqliteDatabase): ConnectionChanges {
  const known = ofConnection.get(db);
  if (known !== undefined) return known;
  const members = new Set<BucketChanges<unknown>>();
  const published = db.memory ? undefined : new PublishedCount(db, COUNT_SQL, `${db.name}.s3-bucket-changes`);
  const watch = published === undefined ? undefined : new ChangeWatch(() => published.current(), () => {
    for (const m of members) m.forget();
  });
  const shared = { published, watch, members };
  ofConnection.set(db, shared);
  return shared;
}

/**
 * One store's view of the count, for `table` (which must exist): creates the count and the
 * table's triggers if missing. On a database file, the count is published beside it in
 * `<database>.s3-bucket-changes` (PublishedCount, one per connection, shared by both stores),
 * and `cache` is a map kept exact against every process's writes; on a memory database (one
 * connection, tests) nothing is cached.
 */
export class BucketChanges<V> {
  readonly #db: SqliteDatabase;
  readonly #shared: ConnectionChanges;
  readonly #published: PublishedCount | undefined;
  readonly #watch: ChangeWatch | undefined;
  readonly #cache = new Map<string, V>();

  constructor(db: SqliteDatabase, table: 's3_buckets' | 's3_bucket_access') {
    this.#db = db;
    db.exec(CHANGES_TABLE);
    db.exec(
      ['INSERT', 'UPDATE', 'DELETE']
        .map((op) => `CREATE TRIGGER IF NOT EXISTS ${table}_counted_${op.toLowerCase()} AFTER ${op} ON ${table} BEGIN UPDATE s3_bucket_changes SET n = n + 1 WHERE id = 1; END;`)
        .join('\n'),
    );
    this.#shared = connectionChanges(db);
    this.#published = this.#shared.published;
    this.#watch = this.#shared.watch;
    this.#shared.members.add(this as BucketChanges<unknown>);
  }

  /**
   * The value cached for `name` if no process changed bucket configuration since it was read,
   * else what `read` returns now (read synchronously, after the count: cached unless `read`
   * returned undefined, which is never cached). Raises what `read` raises.
   */
  get(name: string, read: () => V | undefined): V | undefined {
    const watch = this.#watch;
    if (watch === undefined) return read();
    const seen = watch.check();
    const hit = this.#cache.get(name);
    if (hit !== undefined) return hit;
    const value = read();
    if (value !== undefined && watch.stillAt(seen)) {
      if (this.#cache.size >= MAX_CACHED) this.#cache.clear();
      this.#cache.set(name, value);
    }
    return value;
  }

  /**
   * Runs a write of the table (in an IMMEDIATE transaction, the count published before its
   * COMMIT; alone when already inside a transaction) and forgets what every store of this
   * connection cached: a read later in the same run (whose count check is not repeated)
   * reads the tables again.
   * Raises what `change` raises (its changes rolled back).
   */
  write<T>(change: () => T): T {
    try {
      return this.#published !== undefined ? this.#published.write(change) : this.#db.transaction(change).immediate();
    } finally {
      for (const member of this.#shared.members) member.forget();
    }
  }

  /** Drops this store's cached values (see write). */
  forget(): void {
    this.#cache.clear();
  }
}
