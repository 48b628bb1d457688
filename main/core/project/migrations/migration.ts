import type Database from 'better-sqlite3';

export interface Migration {
  /** user_version after this migration ran; migrations are numbered 1, 2, 3... without gaps. */
  version: number;
  name: string;
  /** Runs inside the migration transaction; must not change PRAGMA foreign_keys. */
  up(db: Database.Database): void;
}
