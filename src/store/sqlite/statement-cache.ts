import type { Statement } from 'better-sqlite3';
import type { SqliteDatabase } from './database.js';

/**
 * Prepares each distinct SQL text once per connection and hands back the same statement
 * afterwards: better-sqlite3's `prepare` compiles every time, which costs more than the
 * lookup itself on hot paths (every S3 request reads its bucket and object). Statements
 * returned must be run to completion (`get`, `all`, `run`), never left mid-iteration,
 * and a statement's mode (`pluck`, `raw`, `expand`) is shared by every user of the same
 * SQL text: set it the same way at each use (one text read both plucked and as rows
 * would hand one of them the wrong shape).
 * Raises what `prepare` raises (a SQL error) on first use of a text.
 */
export function statementCache(db: SqliteDatabase): (sql: string) => Statement {
  const cache = new Map<string, Statement>();
  return (sql) => {
    let s = cache.get(sql);
    if (s === undefined) {
      s = db.prepare(sql);
      cache.set(sql, s);
    }
    return s;
  };
}
