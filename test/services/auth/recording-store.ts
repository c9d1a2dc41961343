/**
 * An AuthStore over another one (a MemoryAuthStore by default) that records every call and every
 * argument it receives, then delegates. Every method of the inner store is wrapped, so the
 * recording follows the AuthStore interface as it grows. A test may still replace one method on an
 * instance (`store.tokenBySelector = async () => { throw … }`) to make it fail.
 */
import type { AuthStore } from "@vexil/auth/storage/auth-store";
import { MemoryAuthStore } from "@vexil/auth/storage/memory-auth-store";

export interface RecordedCall {
  method: keyof AuthStore;
  args: unknown[];
}

/** Every method name an object answers, from its own prototype chain (not Object's). */
function methodNames(target: object): Array<keyof AuthStore> {
  const names = new Set<string>();
  for (let proto = Object.getPrototypeOf(target); proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (name !== "constructor" && typeof (target as Record<string, unknown>)[name] === "function") names.add(name);
    }
  }
  for (const name of Object.keys(target)) if (typeof (target as Record<string, unknown>)[name] === "function") names.add(name);
  return [...names] as Array<keyof AuthStore>;
}

// The interface half of the class: every AuthStore method is an own property set in the constructor.
export interface RecordingStore extends AuthStore {}

export class RecordingStore {
  readonly calls: RecordedCall[] = [];

  constructor(readonly inner: AuthStore = new MemoryAuthStore()) {
    for (const method of methodNames(inner)) {
      const delegate = (inner[method] as (...args: unknown[]) => unknown).bind(inner);
      Object.defineProperty(this, method, {
        configurable: true,
        writable: true,
        enumerable: false,
        value: (...args: unknown[]) => {
          this.calls.push({ method, args: structuredClone(args) });
          return delegate(...args);
        },
      });
    }
  }

  /** Everything ever handed to the store, as one string: a secret that is not in here was never stored. */
  received(): string {
    return JSON.stringify(this.calls.map((c) => c.args));
  }

  /** The methods called, in order. */
  methods(): Array<keyof AuthStore> {
    return this.calls.map((c) => c.method);
  }
}
