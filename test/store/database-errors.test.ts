/**
 * The one test of "the database cannot be reached right now" (src/store/errors.ts): what
 * counts as an outage (503, and `serve` waits) and what is a permanent problem or a bug.
 */
import { describe, expect, it } from 'vitest';
import { asOAuthError } from '../../src/oauth/errors.js';
import {
  describeUnavailable,
  isDatabaseUnavailable,
  StoreUnavailableError,
  translateStoreError,
} from '../../src/store/errors.js';

const withCode = (code: string, message = 'x') => Object.assign(new Error(message), { code });

describe('isDatabaseUnavailable', () => {
  it.each([
    ['connection refused', withCode('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432')],
    ['connection reset', withCode('ECONNRESET')],
    ['connect timeout', withCode('ETIMEDOUT')],
    ['broken pipe', withCode('EPIPE')],
    ['host unreachable', withCode('EHOSTUNREACH')],
    ['temporary DNS failure', withCode('EAI_AGAIN')],
    ['admin shutdown', withCode('57P01', 'terminating connection due to administrator command')],
    ['crash shutdown', withCode('57P02')],
    ['cannot connect now', withCode('57P03', 'the database system is starting up')],
    ['too many connections', withCode('53300')],
    ['connection exception class 08', withCode('08006')],
    ['connection failure 08001', withCode('08001')],
    ['pool connect timeout', new Error('timeout exceeded when trying to connect')],
    ['connection terminated', new Error('Connection terminated unexpectedly')],
    ['connection timeout', new Error('Connection terminated due to connection timeout')],
    ['client not queryable', new Error('Client has encountered a connection error and is not queryable')],
    ['SQLite busy', withCode('SQLITE_BUSY', 'database is locked')],
    ['SQLite busy snapshot', withCode('SQLITE_BUSY_SNAPSHOT')],
    ['SQLite cannot open', withCode('SQLITE_CANTOPEN')],
    [
      'every address refused',
      Object.assign(new AggregateError([withCode('ECONNREFUSED'), withCode('ECONNREFUSED')]), {}),
    ],
    ['already translated', new StoreUnavailableError(withCode('ECONNREFUSED'))],
  ])('%s: unavailable', (_what, err) => {
    expect(isDatabaseUnavailable(err)).toBe(true);
    expect(translateStoreError(err)).toBeInstanceOf(StoreUnavailableError);
  });

  it.each([
    ['unique violation', withCode('23505', 'duplicate key value violates unique constraint')],
    ['missing database', withCode('3D000', 'database "x" does not exist')],
    ['bad password', withCode('28P01', 'password authentication failed')],
    ['unknown role', withCode('28000', 'role "x" does not exist')],
    ['unknown host', withCode('ENOTFOUND', 'getaddrinfo ENOTFOUND db.invalid')],
    ['syntax error', withCode('42601')],
    ['missing table', withCode('42P01')],
    ['SQLite constraint', withCode('SQLITE_CONSTRAINT_UNIQUE')],
    ['SQLite corrupt', withCode('SQLITE_CORRUPT')],
    ['a plain bug', new TypeError("Cannot read properties of undefined (reading 'id')")],
    ['half an AggregateError', new AggregateError([withCode('ECONNREFUSED'), withCode('ENOTFOUND')])],
    ['not an object', 'ECONNREFUSED'],
    ['nothing', undefined],
  ])('%s: not unavailable, passed through unchanged', (_what, err) => {
    expect(isDatabaseUnavailable(err)).toBe(false);
    expect(translateStoreError(err)).toBe(err);
  });
});

describe('StoreUnavailableError', () => {
  it('names the cause in a short phrase and keeps the driver error as its cause', () => {
    const cause = withCode('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432');
    const err = new StoreUnavailableError(cause);
    expect(err.message).toBe('database unavailable: connection refused (is the database server running?)');
    expect(err.cause).toBe(cause);
    expect(describeUnavailable(new Error('Connection terminated unexpectedly'))).toBe(
      'the connection to the database was lost',
    );
    expect(describeUnavailable(withCode('57P03'))).toBe('the database server is starting up or recovering');
  });

  it('becomes temporarily_unavailable (503) for the protocol layer; other failures stay server_error', () => {
    const unavailable = asOAuthError(new StoreUnavailableError(withCode('ECONNRESET')));
    expect(unavailable).toMatchObject({ code: 'temporarily_unavailable', status: 503 });
    expect(unavailable.description).toMatch(/try again shortly/);
    expect(unavailable.cause).toBeInstanceOf(StoreUnavailableError);
    expect(asOAuthError(withCode('ECONNRESET'))).toMatchObject({ code: 'server_error', status: 500 });
    expect(asOAuthError(new Error('boom'))).toMatchObject({ code: 'server_error', status: 500 });
  });
});
