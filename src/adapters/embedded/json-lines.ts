import type { Socket } from 'node:net';

/** One JSON document per line: the daemon's wire format, both ways. */
export const MAX_LINE_BYTES = 32 * 1024 * 1024;

export function onJsonLines(socket: Socket, onMessage: (msg: unknown) => void, onError: (e: Error) => void): void {
  let buffer = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    if (buffer.length > MAX_LINE_BYTES) {
      onError(new Error('message too large'));
      socket.destroy();
      return;
    }
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
  });
}

export const writeJsonLine = (socket: Socket, msg: unknown): void => {
  if (!socket.destroyed) socket.write(`${JSON.stringify(msg)}\n`);
};
