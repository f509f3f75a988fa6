import { describe, expect, it } from 'vitest';
import {
  dependencyNotFound,
  ERROR_CODES,
  LoomError,
  taskNotFound,
  validationFailed,
  type SerializedError,
} from '../../src/domain/errors.js';

describe('LoomError.is', () => {
  it.each<[string, unknown, boolean]>([
    ['a LoomError', new LoomError('TASK_NOT_FOUND', 'x'), true],
    // What a second copy of the package (bundled by a plugin) would throw: same global brand, other class.
    [
      'a structurally equal object branded with Symbol.for',
      Object.assign(new Error('x'), { [Symbol.for('loom.LoomError')]: true, code: 'LEASE_LOST' }),
      true,
    ],
    ['a plain object branded with Symbol.for', { [Symbol.for('loom.LoomError')]: true, code: 'INTERNAL', message: 'x' }, true],
    ['a plain Error', new Error('x'), false],
    ['an Error carrying a code', Object.assign(new Error('x'), { code: 'LEASE_LOST', hint: 'h' }), false],
    ['an object branded with a local (non-registered) symbol', { [Symbol('loom.LoomError')]: true }, false],
    ['an object whose brand is not exactly true', { [Symbol.for('loom.LoomError')]: 'yes' }, false],
    ['an object with the brand name as a string key', { 'loom.LoomError': true }, false],
    ['null', null, false],
    ['undefined', undefined, false],
    ['a string', 'LoomError', false],
    ['a number', 42, false],
  ])('%s -> %s', (_label, value, expected) => {
    expect(LoomError.is(value)).toBe(expected);
  });
});

describe('LoomError', () => {
  it('carries code, message, hint, details and cause', () => {
    const cause = new Error('socket closed');
    const e = new LoomError('DATABASE_UNAVAILABLE', 'cannot reach postgres', {
      hint: 'start it',
      details: { host: '127.0.0.1' },
      cause,
    });
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('LoomError');
    expect(e.code).toBe('DATABASE_UNAVAILABLE');
    expect(e.message).toBe('cannot reach postgres');
    expect(e.hint).toBe('start it');
    expect(e.details).toEqual({ host: '127.0.0.1' });
    expect(e.cause).toBe(cause);
  });

  it('has no cause, hint or details unless given', () => {
    const e = new LoomError('INTERNAL', 'boom');
    expect(e.hint).toBeUndefined();
    expect(e.details).toBeUndefined();
    expect('cause' in e).toBe(false);
  });

  it('serialises to code, message, hint and details only: no stack, no cause', () => {
    const e = new LoomError('LEASE_LOST', 'gone', { hint: 'stop', details: { task_id: 'loom-00000001' }, cause: new Error('inner') });
    const json = JSON.parse(JSON.stringify(e)) as Record<string, unknown>;
    expect(json).toEqual({ code: 'LEASE_LOST', message: 'gone', hint: 'stop', details: { task_id: 'loom-00000001' } });
    expect(JSON.stringify(e)).not.toContain('inner');
    expect(JSON.stringify(e)).not.toContain('at ');
  });

  it('omits absent hint and details from JSON rather than writing null', () => {
    expect(new LoomError('INTERNAL', 'boom').toJSON()).toEqual({ code: 'INTERNAL', message: 'boom' });
  });
});

describe('toJSON / fromJSON round trip', () => {
  it.each<[string, LoomError]>([
    ['full', new LoomError('DEPENDENCY_CYCLE', 'a -> b -> a', { hint: 'remove one', details: { cycle: ['a', 'b', 'a'] } })],
    ['message only', new LoomError('NO_PROJECT', 'no project here')],
    ['hint only', new LoomError('CONFIG_INVALID', 'bad key', { hint: 'see .loom/config.yaml' })],
    ['details only', new LoomError('VALIDATION_FAILED', 'bad', { details: { path: '/title' } })],
  ])('%s', (_label, original) => {
    const back = LoomError.fromJSON(JSON.parse(JSON.stringify(original)) as SerializedError);
    expect(LoomError.is(back)).toBe(true);
    expect(back.code).toBe(original.code);
    expect(back.message).toBe(original.message);
    expect(back.hint).toEqual(original.hint);
    expect(back.details).toEqual(original.details);
    expect(back.toJSON()).toEqual(original.toJSON());
  });

  it.each([...ERROR_CODES])('keeps the code %s', (code) => {
    expect(LoomError.fromJSON({ code, message: 'm' }).code).toBe(code);
  });

  it('maps an unknown code (from a newer server, say) to INTERNAL, keeping the message', () => {
    const e = LoomError.fromJSON({ code: 'SOMETHING_NEW', message: 'from the future', hint: 'upgrade' });
    expect(e.code).toBe('INTERNAL');
    expect(e.message).toBe('from the future');
    expect(e.hint).toBe('upgrade');
  });
});

describe('error factories', () => {
  it.each<[string, LoomError, string, string[]]>([
    ['taskNotFound', taskNotFound('loom-deadbeef'), 'TASK_NOT_FOUND', ['loom-deadbeef']],
    ['dependencyNotFound', dependencyNotFound(['loom-00000001', 'loom-00000002']), 'DEPENDENCY_NOT_FOUND', ['loom-00000001', 'loom-00000002']],
    ['validationFailed', validationFailed('title must be a string'), 'VALIDATION_FAILED', ['title must be a string']],
  ])('%s has its code, names what went wrong and gives a hint', (_name, e, code, mentions) => {
    expect(LoomError.is(e)).toBe(true);
    expect(e.code).toBe(code);
    for (const m of mentions) expect(e.message).toContain(m);
    expect(e.hint).toEqual(expect.any(String));
  });

  it('validationFailed keeps the details it is given', () => {
    expect(validationFailed('bad', { path: '/priority' }).details).toEqual({ path: '/priority' });
    expect(validationFailed('bad').details).toBeUndefined();
  });

  it('dependencyNotFound copies the ids (later changes to the caller array do not leak in)', () => {
    const ids = ['loom-00000001'];
    const e = dependencyNotFound(ids);
    ids.push('loom-00000002');
    expect(e.details).toEqual({ task_ids: ['loom-00000001'] });
  });
});
