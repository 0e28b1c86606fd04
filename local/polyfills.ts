/**
 * Node 20 lacks `Promise.withResolvers` (Node 22+), which aws-local-stepfunctions 3 calls in every Task.
 * Import this module before the engine loads.
 */
type WithResolvers = <T>() => {
  promise: Promise<T>;
  resolve: (v: T | PromiseLike<T>) => void;
  reject: (e: unknown) => void;
};
if (!('withResolvers' in Promise)) {
  const withResolvers: WithResolvers = <T>() => {
    let resolve!: (v: T | PromiseLike<T>) => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
  // Defined the way the built-in is (writable, not enumerable), so the engine cannot tell the two apart.
  Object.defineProperty(Promise, 'withResolvers', { value: withResolvers, writable: true, configurable: true });
}
export {};
