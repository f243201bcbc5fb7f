import superjson from 'superjson';
import { TimeoutError } from '@medals/core';

it('loads the ESM-only superjson and the contracts', () => {
  expect(superjson.parse<Map<string, number>>(superjson.stringify(new Map([['a', 1]])))).toEqual(
    new Map([['a', 1]]),
  );
  expect(new TimeoutError('x').code).toBe('ERR_TIMEOUT');
});
