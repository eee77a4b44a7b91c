/**
 * Versioned migrations for Kysely's Migrator, listed statically so that they are part
 * of the build (no directory scanning at run time). Never edit a migration that has
 * shipped: add the next one.
 */
import type { Migration, MigrationProvider } from 'kysely';
import * as m0001 from './0001_initial.js';
import * as m0002 from './0002_sign_in_failures.js';
import * as m0003 from './0003_expiry_indexes.js';
import * as m0004 from './0004_grant_subjects.js';
import * as m0005 from './0005_resource_servers.js';
import * as m0006 from './0006_one_signing_key.js';
import * as m0007 from './0007_openid_connect.js';
import * as m0008 from './0008_username_key.js';
import * as m0009 from './0009_demo_data.js';
import * as m0010 from './0010_sign_in_throttle.js';
import * as m0011 from './0011_client_lifetimes.js';
import * as m0012 from './0012_client_notify.js';
import * as m0013 from './0013_jti_unindexed.js';

const migrations: Record<string, Migration> = {
  '0001_initial': m0001,
  '0002_sign_in_failures': m0002,
  '0003_expiry_indexes': m0003,
  '0004_grant_subjects': m0004,
  '0005_resource_servers': m0005,
  '0006_one_signing_key': m0006,
  '0007_openid_connect': m0007,
  '0008_username_key': m0008,
  '0009_demo_data': m0009,
  '0010_sign_in_throttle': m0010,
  '0011_client_lifetimes': m0011,
  '0012_client_notify': m0012,
  '0013_jti_unindexed': m0013,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
