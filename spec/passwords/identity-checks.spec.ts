// identity.ts checks pinned after the StrykerJS run (issue 11; see mutation/RESULTS.md).
import { expect } from 'chai';
import { inspect } from 'node:util';
import { ClearIdentity, HashedIdentity, LimitExceededError, UsageError } from '../../lib/index.js';
import { expectSaslError, expectSaslRejection } from '../support/helpers.js';

describe('identity checks (each pinned on its own)', () => {
  it('ClearIdentity is inspected under its own name with the authcid, never the secret', () => {
    expect(inspect(new ClearIdentity('alice', 'pw-secret')))
      .to.match(/^ClearIdentity/)
      .and.include('alice')
      .and.not.include('pw-secret');
  });

  it('a stored hash no hasher recognises, and a new secret that prepares to nothing, are USAGE errors', () => {
    expectSaslError(() => new HashedIdentity('alice', 'not-a-known-hash'), 'USAGE');
    const hasher = { hash: (secret: string): string => `x${secret}`, verify: (): boolean => true };
    expectSaslError(() => HashedIdentity.create('alice', '\u00ad', hasher), 'USAGE');
  });

  it('a presented password that prepares to nothing is refused without asking the hasher (sync and async)', async () => {
    let calls = 0;
    const hasher = {
      hash: (secret: string): string => secret,
      verify: (): boolean => {
        calls++;
        return true;
      },
      verifyAsync: (): Promise<boolean> => {
        calls++;
        return Promise.resolve(true);
      },
    };
    const identity = new HashedIdentity('alice', 'stored', hasher);
    expect(identity.compareSecret('\u00ad')).to.equal(false);
    expect(await identity.compareSecretAsync('\u00ad')).to.equal(false);
    expect(calls).to.equal(0);
    expect(identity.compareSecret('pw')).to.equal(true);
  });

  it('compareSecretAsync: a hasher failure is a mismatch, except LIMIT_EXCEEDED (a full KDF pool), which is rethrown', async () => {
    for (const failure of [new UsageError('broken hasher'), null, new Error('boom')]) {
      const identity = new HashedIdentity('alice', 'stored', {
        hashAsync: (secret: string) => Promise.resolve(secret),
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- a hostile hasher may reject with anything
        verifyAsync: () => Promise.reject(failure),
      });
      expect(await identity.compareSecretAsync('pw')).to.equal(false);
    }
    const full = new HashedIdentity('alice', 'stored', {
      hashAsync: (secret: string) => Promise.resolve(secret),
      verifyAsync: () => Promise.reject(new LimitExceededError('kdfQueue', 'the KDF pool is full')),
    });
    await expectSaslRejection(full.compareSecretAsync('pw'), 'LIMIT_EXCEEDED');
  });
});

describe('identity checks: preparation (fourth mutation run)', () => {
  const same = (text: string): string => text;

  it('a presented password with an unassigned code point is checked by the hasher like any wrong password (query profile)', async () => {
    const seen: string[] = [];
    const hasher = {
      hash: (secret: string): string => secret,
      verify: (secret: string): boolean => {
        seen.push(secret);
        return false;
      },
      verifyAsync: (secret: string): Promise<boolean> => {
        seen.push(secret);
        return Promise.resolve(false);
      },
    };
    const identity = new HashedIdentity('alice', 'stored', hasher);
    expect(identity.compareSecret('pw\u0221')).to.equal(false);
    expect(await identity.compareSecretAsync('pw\u0221')).to.equal(false);
    expect(seen).to.deep.equal(['pw\u0221', 'pw\u0221']);
  });

  it('a presented name or password that is not a string never matches, whatever the preparation accepts', () => {
    const identity = new ClearIdentity('123', '456', { prepare: (text: unknown) => String(text) });
    expect(identity.compareAuthcid('123')).to.equal(true);
    expect(identity.compareAuthcid(123 as unknown as string)).to.equal(false);
    expect(identity.compareSecret(456 as unknown as string)).to.equal(false);
  });

  it('a preparation that returns a non-string, an empty string or a lone surrogate never matches', () => {
    expect(new ClearIdentity('a', 'b', { prepare: () => 42 as unknown as string }).compareSecret('b')).to.equal(false);
    expect(new ClearIdentity('a', 'b', { prepare: () => 42 as unknown as string }).compareAuthcid('a')).to.equal(false);
    expect(new ClearIdentity('a', 'b', { prepare: () => '' }).compareSecret('b')).to.equal(false);
    // Both lone surrogates would encode as U+FFFD and compare equal.
    expect(new ClearIdentity('a', '\ud800', { prepare: same }).compareSecret('\udbff')).to.equal(false);
    expect(new ClearIdentity('\ud800', 'b', { prepare: same }).compareAuthcid('\udbff')).to.equal(false);
  });

  it('a hasher whose verify returns nothing (or null) is a mismatch, not a crash', () => {
    for (const result of [undefined, null]) {
      const identity = new HashedIdentity('alice', 'stored', {
        hash: (secret: string) => secret,
        verify: () => result as unknown as boolean,
      });
      expect(identity.compareSecret('pw')).to.equal(false);
    }
  });
});
