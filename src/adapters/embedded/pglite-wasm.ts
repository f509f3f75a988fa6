import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/** A WebAssembly.Module (the project's TypeScript libs do not declare the WebAssembly global). */
export type CompiledWasm = object;
declare const WebAssembly: { compile(bytes: Uint8Array): Promise<CompiledWasm> };

/**
 * Compiles PGlite's Postgres (9 MB of WebAssembly) without PGlite or any
 * data: the daemon starts this first thing, before its lock and its code,
 * and V8 compiles on background threads meanwhile; `openPglitePool` then
 * only instantiates it. Without it, PGlite reads and compiles the file in
 * `PGlite.create`, on the start-up's critical path. Null when it cannot
 * (PGlite then does it itself, and says what is wrong if anything is).
 *
 * The file is read at once (~10 ms), not with an asynchronous read: its
 * callback would wait behind the daemon's module loading, and the compile
 * started only then (~0.4 s in; PGlite then sat waiting for it).
 */
export function compilePgliteWasm(): Promise<CompiledWasm | null> {
  try {
    const path = createRequire(import.meta.url).resolve('@electric-sql/pglite/pglite.wasm');
    return WebAssembly.compile(readFileSync(path)).catch(() => null);
  } catch {
    return Promise.resolve(null);
  }
}
