import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import SQLite from 'better-sqlite3';
import { fsyncDir } from '../lib/atomic-file';

/** SQLite file behind a database URL, or null for PostgreSQL (backed up by the operator's own tooling). */
export function sqliteFileOf(databaseUrl: string): string | null {
  if (/^postgres(ql)?:\/\//.test(databaseUrl)) return null;
  return databaseUrl.replace(/^sqlite:(\/\/)?/, '');
}

/**
 * Consistent copy of the panel database (SQLite online backup API: correct even with a WAL and a live writer)
 * into `dir`, written under a temp name and renamed. Returns the backup path, or null when there is nothing
 * to back up.
 */
export async function backupDatabase(
  databaseUrl: string,
  dir: string,
  label: string,
): Promise<string | null> {
  const file = sqliteFileOf(databaseUrl);
  if (!file || !existsSync(file)) return null;
  mkdirSync(dir, { recursive: true });
  const dest = join(dir, `${basename(file)}.${label}.bak`);
  const tmp = `${dest}.tmp`;
  rmSync(tmp, { force: true });
  const db = new SQLite(file, { fileMustExist: true });
  try {
    await db.backup(tmp);
  } finally {
    db.close();
  }
  renameSync(tmp, dest);
  fsyncDir(dir);
  return dest;
}

/** Puts a backup back in place of the database (the panel must be stopped). */
export function restoreDatabase(databaseUrl: string, backup: string): void {
  const file = sqliteFileOf(databaseUrl);
  if (!file) return;
  const tmp = `${file}.restore-tmp`;
  copyFileSync(backup, tmp);
  rmSync(`${file}-wal`, { force: true });
  rmSync(`${file}-shm`, { force: true });
  renameSync(tmp, file);
  fsyncDir(dirname(file));
}
