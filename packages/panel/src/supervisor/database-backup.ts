import {
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import SQLite from 'better-sqlite3';
import { fsyncDir } from '../lib/atomic-file';

/** SQLite file behind a database URL, or null for PostgreSQL (backed up by the operator's own tooling). */
export function sqliteFileOf(databaseUrl: string): string | null {
  if (/^postgres(ql)?:\/\//.test(databaseUrl)) return null;
  return databaseUrl.replace(/^sqlite:(\/\/)?/, '');
}

/** Columns that hold a secret the panel needs in full (the license key for the portal); never kept in a backup. */
const SECRET_COLUMN = /^(license_key|pending_deactivations)$/;

type Db = InstanceType<typeof SQLite>;

function secretColumns(db: Db): Array<{ table: string; column: string }> {
  const out: Array<{ table: string; column: string }> = [];
  const tables = db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    .all() as Array<{ name: string }>;
  for (const { name } of tables) {
    const cols = db.prepare(`PRAGMA table_info("${name.replace(/"/g, '""')}")`).all() as Array<{
      name: string;
      notnull: number;
    }>;
    for (const c of cols)
      if (SECRET_COLUMN.test(c.name) && !c.notnull) out.push({ table: name, column: c.name });
  }
  return out;
}

const q = (id: string) => `"${id.replace(/"/g, '""')}"`;

/**
 * Consistent copy of the panel database (SQLite online backup API: correct even with a WAL and a live writer)
 * into `dir`, written under a temp name and renamed. The copy is private whatever the umask (dir 0700, file
 * 0600 from its creation) and holds no license key: secret columns are blanked with `secure_delete` on (the old
 * bytes are overwritten, not just unlinked) and put back from the live database on restore. Returns the backup
 * path, or null when there is nothing to back up.
 */
export async function backupDatabase(
  databaseUrl: string,
  dir: string,
  label: string,
): Promise<string | null> {
  const file = sqliteFileOf(databaseUrl);
  if (!file || !existsSync(file)) return null;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const dest = join(dir, `${basename(file)}.${label}.bak`);
  const tmp = `${dest}.tmp`;
  rmSync(tmp, { force: true });
  try {
    // Created empty with mode 0600 first, so the copy is never readable by others, not even for a moment.
    closeSync(openSync(tmp, 'wx', 0o600));
    const db = new SQLite(file, { fileMustExist: true });
    try {
      await db.backup(tmp);
    } finally {
      db.close();
    }
    const copy = new SQLite(tmp, { fileMustExist: true });
    try {
      copy.pragma('secure_delete = ON');
      for (const { table, column } of secretColumns(copy))
        copy.prepare(`UPDATE ${q(table)} SET ${q(column)} = NULL`).run();
      copy.pragma('journal_mode = DELETE');
    } finally {
      copy.close();
    }
    chmodSync(tmp, 0o600);
    renameSync(tmp, dest);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  fsyncDir(dir);
  return dest;
}

/**
 * Puts a backup back in place of the database (the panel must be stopped). The secret columns the backup
 * left out are taken from the live database (same table, column and row) before it is replaced.
 */
export function restoreDatabase(databaseUrl: string, backup: string): void {
  const file = sqliteFileOf(databaseUrl);
  if (!file) return;
  const tmp = `${file}.restore-tmp`;
  rmSync(tmp, { force: true });
  copyFileSync(backup, tmp);
  chmodSync(tmp, 0o600);
  if (existsSync(file)) {
    try {
      const live = new SQLite(file, { fileMustExist: true, readonly: true });
      const restored = new SQLite(tmp, { fileMustExist: true });
      try {
        const liveCols = new Set(secretColumns(live).map((c) => `${c.table}\0${c.column}`));
        for (const { table, column } of secretColumns(restored)) {
          if (!liveCols.has(`${table}\0${column}`)) continue;
          const rows = live.prepare(`SELECT rowid AS id, ${q(column)} AS v FROM ${q(table)}`).all() as Array<{
            id: number;
            v: unknown;
          }>;
          const put = restored.prepare(`UPDATE ${q(table)} SET ${q(column)} = ? WHERE rowid = ?`);
          for (const r of rows) put.run(r.v as string | null, r.id);
        }
      } finally {
        restored.close();
        live.close();
      }
    } catch {
      // The live database is unreadable: the restored copy runs without the key (re-activate the license).
    }
  }
  rmSync(`${file}-wal`, { force: true });
  rmSync(`${file}-shm`, { force: true });
  renameSync(tmp, file);
  fsyncDir(dirname(file));
}
