import { LoomError } from '../../src/domain/errors.js';

/** The LoomError code `fn` throws (undefined when it returns; a description when it throws something else). */
export const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (e) {
    return LoomError.is(e) ? e.code : `not a LoomError: ${String(e)}`;
  }
  return undefined;
};
