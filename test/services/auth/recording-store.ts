/** An AuthStore over a MemoryAuthStore that records every call and every argument it receives. */
import type { AuthStore, EnvironmentKeyRecord, MemberRecord, TokenRecord } from "@vexil/auth/storage/auth-store";
import { MemoryAuthStore } from "@vexil/auth/storage/memory-auth-store";

export class RecordingStore implements AuthStore {
  readonly calls: Array<{ method: keyof AuthStore; args: unknown[] }> = [];

  constructor(readonly inner: AuthStore = new MemoryAuthStore()) {}

  /** Everything ever handed to the store, as one string: a secret that is not in here was never stored. */
  received(): string {
    return JSON.stringify(this.calls.map((c) => c.args));
  }

  private record(method: keyof AuthStore, args: unknown[]): void {
    this.calls.push({ method, args: structuredClone(args) });
  }

  bootstrap(owner: MemberRecord, token: TokenRecord): Promise<boolean> {
    this.record("bootstrap", [owner, token]);
    return this.inner.bootstrap(owner, token);
  }

  tokenBySelector(selector: string): Promise<TokenRecord | undefined> {
    this.record("tokenBySelector", [selector]);
    return this.inner.tokenBySelector(selector);
  }

  memberById(id: string): Promise<MemberRecord | undefined> {
    this.record("memberById", [id]);
    return this.inner.memberById(id);
  }

  insertEnvironmentKeys(keys: EnvironmentKeyRecord[]): Promise<void> {
    this.record("insertEnvironmentKeys", [keys]);
    return this.inner.insertEnvironmentKeys(keys);
  }

  environmentKeyBySelector(selector: string): Promise<EnvironmentKeyRecord | undefined> {
    this.record("environmentKeyBySelector", [selector]);
    return this.inner.environmentKeyBySelector(selector);
  }

  deleteEnvironmentKeys(environmentIds: string[]): Promise<number> {
    this.record("deleteEnvironmentKeys", [environmentIds]);
    return this.inner.deleteEnvironmentKeys(environmentIds);
  }
}
