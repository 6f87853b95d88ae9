// lib/core/exchange.ts's effect requests: `effect` calls its functions as given (no receiver, no
// arguments); `callEffect` (the store and verify effects) calls them as methods of a receiver with
// two arguments, without a closure per request. Both refuse a promise under the sync form.
import { expect } from 'chai';
import { ClearIdentity, ServerSuccess, effect, isEffect } from '../../lib/index.js';
import {
  answerEffect,
  callEffect,
  challenge,
  respond,
  respondFinal,
  respondForChallenge,
} from '../../lib/core/exchange.js';
import { lookupEffect, verifyEffect } from '../../lib/passwords/store-effects.js';
import { expectSaslError } from '../support/helpers.js';

/** Records how it was called: its receiver and its arguments. */
function recorder(calls: unknown[][], answer: unknown): (this: unknown, ...args: unknown[]) => unknown {
  return function (this: unknown, ...args: unknown[]): unknown {
    calls.push([this, ...args]);
    return answer;
  };
}

describe('effect requests', () => {
  describe('effect', () => {
    it('calls its sync form with no receiver and no arguments, in every way of answering', async () => {
      const calls: unknown[][] = [];
      const request = effect('hook', recorder(calls, 7));
      expect(request.runSync()).to.equal(7);
      expect(await request.runAsync()).to.equal(7);
      expect(answerEffect(request)).to.equal(7);
      expect(calls).to.deep.equal([[undefined], [undefined], [undefined]]);
    });

    it('prefers its async form where the answer may wait, and calls it as given', async () => {
      const calls: unknown[][] = [];
      const request = effect(
        'derive',
        recorder(calls, 'sync'),
        recorder(calls, Promise.resolve('async')) as () => Promise<string>,
      );
      expect(await request.runAsync()).to.equal('async');
      expect(await answerEffect(request)).to.equal('async');
      expect(request.runSync()).to.equal('sync');
      expect(calls).to.deep.equal([[undefined], [undefined], [undefined]]);
    });
  });

  describe('callEffect', () => {
    const receiver = { name: 'store' };

    it('calls the sync form as a method of the receiver with both arguments', async () => {
      const calls: unknown[][] = [];
      const request = callEffect('lookup', receiver, recorder(calls, 'found'), undefined, 'alice', {
        mechanism: 'PLAIN',
      });
      expect(request.kind).to.equal('lookup');
      expect(request.runSync()).to.equal('found');
      expect(await request.runAsync()).to.equal('found');
      expect(answerEffect(request)).to.equal('found');
      expect(calls).to.deep.equal([
        [receiver, 'alice', { mechanism: 'PLAIN' }],
        [receiver, 'alice', { mechanism: 'PLAIN' }],
        [receiver, 'alice', { mechanism: 'PLAIN' }],
      ]);
    });

    it('prefers the async form, called the same way', async () => {
      const sync: unknown[][] = [];
      const async: unknown[][] = [];
      const request = callEffect(
        'verify',
        receiver,
        recorder(sync, false),
        recorder(async, Promise.resolve(true)) as (this: unknown, a: unknown, b: unknown) => Promise<boolean>,
        'secret',
        undefined,
      );
      expect(await request.runAsync()).to.equal(true);
      expect(await answerEffect(request)).to.equal(true);
      expect(sync).to.deep.equal([]);
      expect(async).to.deep.equal([
        [receiver, 'secret', undefined],
        [receiver, 'secret', undefined],
      ]);
    });

    it('refuses a promise from the sync form with a USAGE error naming the kind', () => {
      const request = callEffect('lookup', receiver, () => Promise.reject(new Error('late')), undefined, 'a', 'b');
      const error = expectSaslError(() => request.runSync(), 'USAGE');
      expect(error.message).to.contain('lookup callback returned a promise');
    });

    it('passes on what the sync form throws, in every way of answering', async () => {
      const failing = (): never => {
        throw new Error('store down');
      };
      const request = callEffect('lookup', receiver, failing, undefined, 'a', 'b');
      expect(() => request.runSync()).to.throw('store down');
      expect(() => answerEffect(request)).to.throw('store down');
      let rejected: unknown;
      await request.runAsync().catch((error: unknown) => (rejected = error));
      expect(rejected).to.be.instanceOf(Error).with.property('message', 'store down');
    });
  });

  describe('the store and verify effects', () => {
    it('lookup: the store is called as a plain function with the authcid and the mechanism', () => {
      const calls: unknown[][] = [];
      const request = lookupEffect({ lookup: recorder(calls, undefined) as () => undefined }, 'PLAIN', 'alice');
      expect(request.runSync()).to.equal(undefined);
      expect(calls).to.deep.equal([[undefined, 'alice', { mechanism: 'PLAIN' }]]);
    });

    it('verify: compareSecret and compareSecretAsync run as methods of the identity (private fields work)', async () => {
      class Vault {
        readonly authcid = 'alice';
        readonly #password = 'right';
        compareSecret(secret: string): boolean {
          return secret === this.#password;
        }
        compareSecretAsync(secret: string): Promise<boolean> {
          return Promise.resolve(secret === this.#password);
        }
        compareAuthcid(authcid: string): boolean {
          return authcid === this.authcid;
        }
        getClearSecret(): undefined {
          return undefined;
        }
      }
      const vault = new Vault();
      expect(verifyEffect(vault, 'right').runSync()).to.equal(true);
      expect(verifyEffect(vault, 'wrong').runSync()).to.equal(false);
      expect(await verifyEffect(vault, 'right').runAsync()).to.equal(true);
      expect(await verifyEffect(vault, 'wrong').runAsync()).to.equal(false);
      // Without an async form the sync one answers the async drivers too.
      const clear = new ClearIdentity('alice', 'right');
      expect(await verifyEffect(clear, 'right').runAsync()).to.equal(true);
      expect(await verifyEffect(clear, 'wrong').runAsync()).to.equal(false);
    });

    it('verify: an identity whose check is a promise under the sync form is a USAGE error', () => {
      const identity = {
        authcid: 'alice',
        compareSecret: (): boolean => Promise.resolve(true) as unknown as boolean,
        compareAuthcid: (): boolean => true,
        getClearSecret: (): undefined => undefined,
      };
      expectSaslError(() => verifyEffect(identity, 'x').runSync(), 'USAGE');
    });
  });

  describe('the contract helpers', () => {
    const bytes = new Uint8Array([1, 2]);

    it('isEffect: an effect is one; null, bytes, a plain object and a function are not', () => {
      expect(isEffect(effect('hook', () => 1))).to.equal(true);
      for (const value of [null, undefined, bytes, {}, () => 1, 'effect']) expect(isEffect(value)).to.equal(false);
    });

    it('a thenable function from a sync form is refused like a promise', () => {
      const thenable = Object.assign(() => undefined, { then: () => undefined });
      expectSaslError(() => effect('hook', () => thenable).runSync(), 'USAGE');
    });

    it('challenge and respond give back the bytes they are resumed with, and refuse anything else', () => {
      const server = challenge(bytes);
      expect(server.next().value).to.equal(bytes);
      expectSaslError(() => server.next('not bytes'), 'USAGE');
      const client = respond(bytes);
      client.next();
      expectSaslError(() => client.next('not bytes'), 'USAGE');
      const answered = respond(bytes);
      answered.next();
      expect(answered.next(bytes)).to.deep.equal({ done: true, value: bytes });
      const succeeded = respond(bytes);
      succeeded.next();
      const success = new ServerSuccess();
      expect(succeeded.next(success).value).to.equal(success);
    });

    it('respondForChallenge: success is an UNEXPECTED_MESSAGE blamed on the server, for the mechanism', () => {
      const steps = respondForChallenge(bytes, 'TEST');
      steps.next();
      const error = expectSaslError(() => steps.next(new ServerSuccess()), 'UNEXPECTED_MESSAGE');
      expect({ mechanism: error.mechanism, party: error.party }).to.deep.equal({ mechanism: 'TEST', party: 'server' });
    });

    it('respondFinal: success with no data or empty data ends it; data or a challenge is UNEXPECTED_MESSAGE', () => {
      for (const data of [undefined, new Uint8Array(0)]) {
        const steps = respondFinal(bytes, 'TEST');
        steps.next();
        expect(steps.next(new ServerSuccess(data)).done).to.equal(true);
      }
      for (const reply of [new ServerSuccess(new Uint8Array([0])), bytes]) {
        const steps = respondFinal(bytes, 'TEST');
        steps.next();
        const error = expectSaslError(() => steps.next(reply), 'UNEXPECTED_MESSAGE');
        expect(error.party).to.equal('server');
      }
    });
  });
});
