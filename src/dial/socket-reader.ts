// Reads a proxy's handshake answers off a socket, a length or a delimiter at a time, then hands
// the socket over as it found it: not flowing until its next reader listens, and with any bytes
// read past the handshake put back.

import type { Socket } from 'node:net';

interface Waiter {
  /** How many buffered bytes make the answer, or undefined while more are needed. May throw. */
  measure(buffered: Buffer): number | undefined;
  resolve(answer: Buffer): void;
  reject(err: unknown): void;
}

export class SocketReader {
  private buffered: Buffer = Buffer.alloc(0);
  private waiter: Waiter | undefined;
  private failure: Error | undefined;

  constructor(readonly socket: Socket) {
    // 'readable' rather than 'data': removing the listener returns the stream to its initial
    // state, so the next reader's first 'data' listener starts the flow and nothing is lost.
    socket.on('readable', this.onReadable);
    socket.on('error', this.onError);
    socket.on('end', this.onClose);
    socket.on('close', this.onClose);
  }

  /** Resolves once `event` ('connect', or 'secureConnect' for TLS) fires; rejects if the socket fails first. */
  connected(event: 'connect' | 'secureConnect'): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = (err?: Error) => {
        this.socket.off(event, onConnect).off('error', done).off('close', onClose);
        if (err === undefined) resolve();
        else reject(err);
      };
      const onConnect = () => done();
      const onClose = () => done(this.failure ?? new Error('connection closed'));
      this.socket.once(event, onConnect).once('error', done).once('close', onClose);
    });
  }

  /** The next `length` bytes. */
  read(length: number): Promise<Buffer> {
    return this.take((buffered) => (buffered.length >= length ? length : undefined));
  }

  /** The bytes up to and including `delimiter`, refusing more than `maxBytes` without it. */
  readUntil(delimiter: string, maxBytes: number): Promise<Buffer> {
    return this.take((buffered) => {
      const end = buffered.indexOf(delimiter);
      if (end !== -1) return end + delimiter.length;
      if (buffered.length > maxBytes) throw new Error(`answer longer than ${maxBytes} bytes`);
      return undefined;
    });
  }

  /** Stops reading and returns the socket with any unread bytes put back. */
  release(): Socket {
    this.socket.off('readable', this.onReadable).off('error', this.onError).off('end', this.onClose).off('close', this.onClose);
    if (this.buffered.length > 0) this.socket.unshift(this.buffered);
    return this.socket;
  }

  private take(measure: Waiter['measure']): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.waiter = { measure, resolve, reject };
      this.settle();
    });
  }

  private settle(): void {
    const waiter = this.waiter;
    if (waiter === undefined) return;
    let length: number | undefined;
    try {
      length = waiter.measure(this.buffered);
    } catch (err) {
      this.waiter = undefined;
      return waiter.reject(err);
    }
    if (length !== undefined) {
      this.waiter = undefined;
      const answer = this.buffered.subarray(0, length);
      this.buffered = this.buffered.subarray(length);
      waiter.resolve(answer);
    } else if (this.failure !== undefined) {
      this.waiter = undefined;
      waiter.reject(this.failure);
    }
  }

  private readonly onReadable = (): void => {
    let chunk: Buffer | null;
    while ((chunk = this.socket.read() as Buffer | null) !== null) {
      this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    }
    this.settle();
  };

  private readonly onError = (err: Error): void => {
    this.failure = err;
    this.settle();
  };

  private readonly onClose = (): void => {
    this.failure ??= new Error('connection closed by the proxy');
    this.settle();
  };
}
