/**
 * Polls until `done()` holds; fails naming `what` after `ms`. The default bound
 * is generous: what takes a second on a quiet machine can take far longer on a
 * loaded one (load average 10 on 2 cores), and a passing wait ends early anyway.
 */
export async function until(done: () => boolean | Promise<boolean>, what: string, ms = 30_000, stepMs = 10): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
