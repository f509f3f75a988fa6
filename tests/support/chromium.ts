import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/**
 * Debian's chromium, driven by playwright-core (its own browser downloads
 * cannot reach the network here). `.ci/run` installs the package when it is
 * missing; LOOM_TEST_CHROMIUM points elsewhere.
 */
export const CHROMIUM_PATH = process.env.LOOM_TEST_CHROMIUM ?? '/usr/bin/chromium';

export const chromiumAvailable = (): boolean => existsSync(CHROMIUM_PATH);

/**
 * Headless and offline: without these flags chromium waits on network
 * lookups (component updates, sync, QUIC) that never answer on a closed
 * network. Close the browser in an afterAll.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    timeout: 60_000,
  });
}
