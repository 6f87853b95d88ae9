import { expect } from 'chai';
import { type AddressInfo, type Server, type Socket, connect, createServer } from 'node:net';
import { ExchangeAbortedError } from '../../lib/core/errors.js';
import { SocketChunks, socketWriter } from '../../lib/transport/socket-chunks.js';

/** A connected pair on 127.0.0.1: `local` is read, `remote` writes. */
async function pair(): Promise<{ local: Socket; remote: Socket; close: () => Promise<void> }> {
  const server: Server = createServer();
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const local = connect((server.address() as AddressInfo).port, '127.0.0.1');
  const remote = await accepted;
  await new Promise<void>((resolve) => {
    if (local.readyState === 'open') resolve();
    else
      local.once('connect', () => {
        resolve();
      });
  });
  return {
    local,
    remote,
    close: async () => {
      local.destroy();
      remote.destroy();
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
    },
  };
}

const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString();

describe('transport/socket-chunks', () => {
  describe('SocketChunks', () => {
    it('yields the chunks in order, pauses the socket until the next read, takes bytes pushed back, ends with the socket', async () => {
      const { local, remote, close } = await pair();
      try {
        const chunks = new SocketChunks(local);
        remote.write('hello');
        const first = await chunks.next();
        expect(first.done).to.equal(false);
        expect(text(first.value as Uint8Array)).to.equal('hello');
        // Paused since its chunk arrived: what the peer sends now waits in the socket, not in memory here.
        expect(local.isPaused()).to.equal(true);
        remote.write('more');
        chunks.unshift(Buffer.from('back'));
        expect(chunks.pending).to.equal(true);
        expect(text((await chunks.next()).value as Uint8Array)).to.equal('back');
        expect(text((await chunks.next()).value as Uint8Array)).to.equal('more');
        remote.end();
        expect((await chunks.next()).done).to.equal(true);
      } finally {
        await close();
      }
    });

    it('turns a socket error into a typed error naming the connection when asked, and lets go of the socket on detach', async () => {
      const { local, close } = await pair();
      try {
        const chunks = new SocketChunks(local, { failure: 'LDAP' });
        const reading = chunks.next().then(
          () => undefined,
          (caught: unknown) => caught,
        );
        local.destroy(new Error('reset'));
        const error = await reading;
        expect(error).to.be.instanceOf(ExchangeAbortedError);
        expect((error as Error).message).to.equal('the LDAP connection failed');
        chunks.detach();
        expect(local.listenerCount('data')).to.equal(0);
        expect(local.listenerCount('error')).to.equal(0);
      } finally {
        await close();
      }
    });

    it('is done at once on a socket that closed before it was made, and does not pause without backpressure', async () => {
      const { local, remote, close } = await pair();
      try {
        const live = new SocketChunks(local, { backpressure: false });
        remote.write('x');
        await live.next();
        await new Promise<void>((resolve) => setImmediate(resolve));
        expect(local.isPaused()).to.equal(false);
        live.detach();
        local.destroy();
        expect((await new SocketChunks(local).next()).done).to.equal(true);
      } finally {
        await close();
      }
    });
  });
  describe('socketWriter', () => {
    it('resolves once the socket took the bytes, which reach the peer in order', async () => {
      const { local, remote, close } = await pair();
      try {
        const write = socketWriter(local);
        const received: Buffer[] = [];
        remote.on('data', (chunk: Buffer) => received.push(chunk));
        await write(Buffer.from('one '));
        await write(Buffer.from('two'));
        local.end();
        await new Promise<void>((resolve) => remote.once('end', resolve));
        expect(Buffer.concat(received).toString()).to.equal('one two');
      } finally {
        await close();
      }
    });

    it('rejects a write on a failed socket with a typed error naming the connection and blaming the peer', async () => {
      const { local, close } = await pair();
      try {
        local.destroy();
        const failed = (options?: Parameters<typeof socketWriter>[1]): Promise<unknown> =>
          socketWriter(
            local,
            options,
          )(Buffer.from('x')).then(
            () => undefined,
            (caught: unknown) => caught,
          );
        const ldap = await failed({ failure: 'LDAP', peer: 'client' });
        expect(ldap).to.be.instanceOf(ExchangeAbortedError);
        expect((ldap as ExchangeAbortedError).message).to.equal('the LDAP connection failed');
        expect((ldap as ExchangeAbortedError).party).to.equal('client');
        const plain = await failed();
        expect((plain as ExchangeAbortedError).message).to.equal('the socket connection failed');
        expect((plain as ExchangeAbortedError).party).to.equal('server');
      } finally {
        await close();
      }
    });
  });
});
