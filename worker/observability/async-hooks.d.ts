// The part of node:async_hooks that workerd provides under the `nodejs_als`
// compatibility flag (https://developers.cloudflare.com/workers/runtime-apis/nodejs/asynclocalstorage/);
// the Worker's types do not declare Node modules.
declare module "node:async_hooks" {
  export class AsyncLocalStorage<T> {
    run<R>(store: T, callback: () => R): R;
    getStore(): T | undefined;
  }
}
