import { jest } from '@jest/globals';

/**
 * Fakes `Date` alone, so handlers see a chosen wall clock while timers, microtasks and the AWS SDK's I/O run for
 * real (the handlers under test talk to a real local DynamoDB).
 */
export function fakeDateOnly(): void {
  jest.useFakeTimers({
    doNotFake: [
      'hrtime',
      'nextTick',
      'performance',
      'queueMicrotask',
      'setImmediate',
      'clearImmediate',
      'setInterval',
      'clearInterval',
      'setTimeout',
      'clearTimeout',
    ],
  });
}
