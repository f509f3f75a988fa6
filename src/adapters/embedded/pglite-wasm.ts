import { readFile } from 'node:fs/promises';
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
 */
export function compilePgliteWasm(): Promise<CompiledWasm | null> {
  const compiling = (async () => {
    const path = createRequire(import.meta.url).resolve('@electric-sql/pglite/pglite.wasm');
    return WebAssembly.compile(await readFile(path));
  })();
  return compiling.catch(() => null);
}
