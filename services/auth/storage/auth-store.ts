/** The auth service's storage, as its domain code sees it. Implementations: drizzle (runtime) and memory (tests). */
export interface MemberRecord {
  id: string;
  email: string;
  firstName: string | null;
  lastName: string | null;
  role: string;
  passwordHash: string | null;
  createdAt: number;
}

export interface TokenRecord {
  id: string;
  selector: string;
  verifier: string;
  last4: string;
  name: string;
  description: string;
  ownerId: string;
  memberId: string;
  role: string;
  serviceToken: boolean;
  defaultApiVersion: number;
  createdAt: number;
  lastModified: number;
  lastUsed: number | null;
  expiresAt: number | null;
}

export interface EnvironmentKeyRecord {
  id: string;
  environmentId: string;
  kind: "sdk" | "mob";
  selector: string;
  verifier: string;
  last4: string;
  createdAt: number;
  expiresAt: number | null;
}

export interface AuthStore {
  /** Creates the owner and the first token if, and only if, no member exists yet; true when it did. */
  bootstrap(owner: MemberRecord, token: TokenRecord): Promise<boolean>;
  tokenBySelector(selector: string): Promise<TokenRecord | undefined>;
  memberById(id: string): Promise<MemberRecord | undefined>;
  insertEnvironmentKeys(keys: EnvironmentKeyRecord[]): Promise<void>;
  environmentKeyBySelector(selector: string): Promise<EnvironmentKeyRecord | undefined>;
  deleteEnvironmentKeys(environmentIds: string[]): Promise<number>;
}
