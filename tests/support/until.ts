/** Polls until `done()` holds; fails naming `what` after `ms`. */
export async function until(done: () => boolean | Promise<boolean>, what: string, ms = 15_000, stepMs = 10): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
