import type { Socket } from 'node:net';
import { LoomError } from '../../domain/errors.js';

/** One JSON document per line: the daemon's wire format, both ways. */
export class LineTooLarge extends Error {
  constructor() {
    super('message too large');
  }
}

export const MAX_LINE_BYTES = 32 * 1024 * 1024;

export function onJsonLines(socket: Socket, onMessage: (msg: unknown) => void, onError: (e: Error) => void): void {
  let buffer = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (line.length === 0) continue;
      let msg: unknown;
      try {
        msg = JSON.parse(line);
      } catch {
        onError(new Error('a line is not JSON'));
        socket.destroy();
        return;
      }
      onMessage(msg);
    }
    // What is left is one unfinished line.
    if (buffer.length > MAX_LINE_BYTES) {
      onError(new LineTooLarge());
      socket.destroy();
    }
  });
}

export const writeJsonLine = (socket: Socket, msg: unknown): void => {
  if (!socket.destroyed) socket.write(`${JSON.stringify(msg)}\n`);
};

/** A message as one line, or null when it would exceed MAX_LINE_BYTES (the other side would drop the connection). */
export function jsonLine(msg: unknown): string | null {
  const line = `${JSON.stringify(msg)}\n`;
  // Length in UTF-16 units is at most the UTF-8 byte length; measure exactly only near the limit.
  if (line.length * 3 <= MAX_LINE_BYTES || Buffer.byteLength(line, 'utf8') <= MAX_LINE_BYTES) return line;
  return null;
}

/** A reply the client could not take: said in a code of its own, never a dropped connection. */
export function tooLarge(method: string): LoomError {
  return new LoomError('RESPONSE_TOO_LARGE', `the answer to ${method} is over ${MAX_LINE_BYTES / (1024 * 1024)} MiB, more than one reply may carry`, {
    hint: 'ask for less: a smaller limit, a narrower filter, or one task at a time (`loom status ID`)',
    details: { method, limit_bytes: MAX_LINE_BYTES },
  });
}
