import { expect } from 'chai';
import { inspect } from 'node:util';
import * as errors from '../../lib/core/errors.js';
import {
  AuthenticationFailedError,
  AuthorizationFailedError,
  ExchangeAbortedError,
  LimitExceededError,
  MalformedMessageError,
  MechanismUnavailableError,
  SaslError,
  type SaslErrorCode,
  ServerNotVerifiedError,
  TimeoutError,
  UnexpectedMessageError,
  UsageError,
  isSaslError,
} from '../../lib/index.js';
import { freshModule } from '../support/fresh-module.js';

describe('errors', () => {
  const cases: [SaslError, string, SaslErrorCode, string, SaslError['party']][] = [
    [new MalformedMessageError('bad message'), 'MalformedMessageError', 'MALFORMED_MESSAGE', 'bad message', 'local'],
    [new UnexpectedMessageError('too many'), 'UnexpectedMessageError', 'UNEXPECTED_MESSAGE', 'too many', 'local'],
    [new LimitExceededError('maxRounds', 'too long'), 'LimitExceededError', 'LIMIT_EXCEEDED', 'too long', 'local'],
    [
      new AuthenticationFailedError(),
      'AuthenticationFailedError',
      'AUTHENTICATION_FAILED',
      'authentication failed',
      'local',
    ],
    [
      new AuthorizationFailedError(),
      'AuthorizationFailedError',
      'AUTHORIZATION_FAILED',
      'not authorized to use the requested authorization identity',
      'local',
    ],
    [
      new MechanismUnavailableError('no such mechanism'),
      'MechanismUnavailableError',
      'MECHANISM_UNAVAILABLE',
      'no such mechanism',
      'local',
    ],
    [
      new ServerNotVerifiedError('bad signature'),
      'ServerNotVerifiedError',
      'SERVER_NOT_VERIFIED',
      'bad signature',
      'server',
    ],
    [new ExchangeAbortedError(), 'ExchangeAbortedError', 'ABORTED', 'authentication exchange aborted', 'local'],
    [new TimeoutError(), 'TimeoutError', 'TIMEOUT', 'authentication exchange timed out', 'local'],
    [new UsageError('wrong call'), 'UsageError', 'USAGE', 'wrong call', 'local'],
    [new SaslError('USAGE', 'base'), 'SaslError', 'USAGE', 'base', 'local'],
  ];

  for (const [error, name, code, message, party] of cases) {
    it(`${name}: code ${code}, name, message, default party ${party}`, () => {
      expect(error).to.be.instanceOf(SaslError);
      expect(error).to.be.instanceOf(Error);
      expect(isSaslError(error)).to.equal(true);
      expect(error.name).to.equal(name);
      expect(error.code).to.equal(code);
      expect(error.message).to.equal(message);
      expect(error.party).to.equal(party);
      expect(error.mechanism).to.equal(undefined);
      expect(String(error)).to.equal(`${name}: ${message}`);
      expect(String(error.stack)).to.match(new RegExp(`^${name}: `));
      expect(JSON.parse(JSON.stringify(error))).to.include({ code, party });
    });
  }

  it('every exported error class is covered above', () => {
    const classes = Object.values(errors).filter((value) => typeof value === 'function' && value !== isSaslError);
    expect(classes.map((value) => (value as { name: string }).name).sort()).to.deep.equal(
      cases.map(([error]) => error.constructor.name).sort(),
    );
  });

  it('carries mechanism, party and cause', () => {
    const cause = new Error('lower level');
    const error = new MalformedMessageError('bad', { mechanism: 'PLAIN', party: 'client', cause });
    expect(error).to.include({ mechanism: 'PLAIN', party: 'client' });
    expect(error.cause).to.equal(cause);
    expect(new MalformedMessageError('bad').cause).to.equal(undefined);
    expect('cause' in new MalformedMessageError('bad')).to.equal(false);
    expect(new ServerNotVerifiedError('x', { party: 'local' }).party).to.equal('local');
    expect(new UsageError('x', { party: 'client' }).party).to.equal('client');
  });

  it('has the extra fields of LimitExceededError and AuthenticationFailedError', () => {
    expect(new LimitExceededError('maxMessageBytes', 'x').limit).to.equal('maxMessageBytes');
    const failed = new AuthenticationFailedError('server said no', {
      serverError: 'invalid-proof',
      party: 'server',
      mechanism: 'SCRAM-SHA-256',
    });
    expect(failed).to.include({
      serverError: 'invalid-proof',
      party: 'server',
      mechanism: 'SCRAM-SHA-256',
      message: 'server said no',
    });
    expect(new AuthenticationFailedError().serverError).to.equal(undefined);
  });

  describe('isSaslError', () => {
    it('is false for everything that is not a saslkit error', () => {
      for (const value of [
        undefined,
        null,
        0,
        'SaslError',
        {},
        new Error('x'),
        new TypeError('x'),
        { code: 'USAGE', name: 'UsageError' },
        () => undefined,
      ]) {
        expect(isSaslError(value)).to.equal(false);
      }
    });

    it('recognises the Symbol.for brand, whichever copy of the class made the error', () => {
      const brand = Symbol.for('saslkit.SaslError');
      const foreign = Object.assign(new Error('from another copy'), { code: 'USAGE' });
      Object.defineProperty(foreign, brand, { value: true });
      expect(isSaslError(foreign)).to.equal(true);
      // The brand is hidden from enumeration, so it does not show up in JSON or logs.
      const own = new UsageError('x');
      expect(Object.keys(own)).to.not.include(brand.toString());
      expect((own as unknown as Record<symbol, unknown>)[brand]).to.equal(true);
      expect(Object.getOwnPropertyDescriptor(own, brand)?.enumerable).to.equal(false);
      expect(isSaslError(Object.defineProperty(new Error('x'), brand, { value: 'yes' }))).to.equal(false);
    });

    it('works across a second, separately loaded copy of the module (dual-package hazard)', () => {
      const copy = freshModule(__filename, '../../lib/core/errors.js') as typeof errors;
      expect(copy.UsageError).to.not.equal(UsageError);
      const theirs = new copy.MalformedMessageError('bad', { party: 'client' });
      expect(theirs instanceof SaslError).to.equal(false);
      expect(isSaslError(theirs)).to.equal(true);
      expect(copy.isSaslError(new UsageError('x'))).to.equal(true);
      if (isSaslError(theirs)) expect(theirs.code).to.equal('MALFORMED_MESSAGE');
    });
  });

  it('shows no more than name, message and the public fields in util.inspect', () => {
    const text = inspect(
      new MalformedMessageError('PLAIN message has no NUL', { mechanism: 'PLAIN', party: 'client' }),
    );
    expect(text).to.include('MalformedMessageError: PLAIN message has no NUL');
    expect(text).to.include("code: 'MALFORMED_MESSAGE'");
  });
});
