import type { Redis } from 'ioredis';

/**
 * How long ioredis lets a disconnected socket close by itself before
 * destroying it. Its default (2 s) is a ref'd timer armed even for a socket
 * that never connected: a short-lived CLI would wait it out before exiting.
 */
export const DISCONNECT_TIMEOUT_MS = 100;

/** `quit` waits this long for QUIT before dropping the connection. */
const QUIT_TIMEOUT_MS = 1_000;

/** Resolves when the connection is ready (connecting a lazy one); rejects on its next error. */
export function whenReady(connection: Redis): Promise<void> {
  if (connection.status === 'ready') return Promise.resolve();
  const waiting = new Promise<void>((resolve, reject) => {
    const onReady = () => {
      connection.off('error', onError);
      resolve();
    };
    const onError = (e: unknown) => {
      connection.off('ready', onReady);
      reject(e instanceof Error ? e : new Error(String(e)));
    };
    connection.once('ready', onReady);
    connection.once('error', onError);
  });
  if (connection.status === 'wait') {
    // A failed first connect rejects here and may emit no 'error' until a reconnect attempt.
    const connecting = connection.connect();
    return Promise.race([waiting, connecting.then(() => waiting)]);
  }
  return waiting;
}

/** Settles with the promise, or as soon as the connection reports an error. */
export function untilSettledOrError(promise: Promise<void>, connection: Redis): Promise<void> {
  let onError: (() => void) | undefined;
  const failed = new Promise<void>((resolve) => {
    onError = resolve;
    connection.once('error', onError);
  });
  return Promise.race([promise, failed]).finally(() => connection.off('error', onError!));
}

/** QUIT when connected (pending replies arrive first); otherwise drop the connection. Never hangs. */
export async function quit(connection: Redis): Promise<void> {
  if (connection.status === 'ready') {
    const quitted = await withTimeout(
      connection.quit().then(
        () => true,
        () => false,
      ),
      QUIT_TIMEOUT_MS,
    );
    if (quitted === true) return;
  }
  // Not connected (or QUIT hung): drop the socket and stop reconnecting.
  connection.disconnect();
}

/** The promise's value, or undefined once `ms` have passed. */
export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The URL without its credentials, fit for a log line. */
export function redactedUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return 'the configured Redis';
  }
}
