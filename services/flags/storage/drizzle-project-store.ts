import { and, asc, count, desc, eq, inArray, or, sql, type SQL } from "drizzle-orm";
import type { PgColumn } from "drizzle-orm/pg-core";
import { likePattern, isUniqueViolation, type Db } from "@vexil/shared/db/connector";
import { LOCK_NAMESPACE } from "@vexil/shared/db/migrate";
import type { AuditEntry } from "@vexil/shared/audit/audit";
import { auditLog } from "@vexil/shared/audit/schema";
import { conflict } from "@vexil/shared/errors";
import type { FlagEnvironment } from "../domain/flags/model.ts";
import type { FlagGlobal } from "./flag-store.ts";
import type { EnvironmentRecord, ListQuery, Listed, ProjectRecord, ProjectStore } from "./project-store.ts";
import { environments, flagConfigs, flags, flagsBootstrap, projects } from "./schema.ts";

const BOOTSTRAP_LOCK = 3;


function filters(table: typeof projects | typeof environments, q: ListQuery): SQL | undefined {
  const conds: SQL[] = [];
  if (q.query) {
    const pattern = likePattern(q.query);
    conds.push(or(sql`lower(${table.key}) like ${pattern}`, sql`lower(${table.name}) like ${pattern}`)!);
  }
  if (q.tags && q.tags.length > 0) conds.push(sql`${table.tags} @> ${JSON.stringify(q.tags)}::jsonb`);
  if (q.keys) conds.push(q.keys.length > 0 ? inArray(table.key, q.keys) : sql`false`);
  return conds.length > 0 ? and(...conds) : undefined;
}

/** Byte order ("C" collation), so the order matches the in-memory store and does not depend on the server's locale. */
const collated = (column: PgColumn) => sql`${column} collate "C"`;

function ordering(table: typeof projects | typeof environments, q: ListQuery): SQL[] {
  const dir = q.sort.descending ? desc : asc;
  const byKey = dir(collated(table.key));
  switch (q.sort.field) {
    case "name":
      return [dir(collated(table.name)), byKey];
    case "createdOn":
      return [dir(table.createdAt), byKey];
    case "critical":
      return "critical" in table ? [dir(table.critical), asc(collated(table.key))] : [byKey];
    default:
      return [byKey];
  }
}

function translate(e: unknown, what: string): never {
  if (isUniqueViolation(e)) throw conflict(`${what} already exists`);
  throw e;
}

export class DrizzleProjectStore implements ProjectStore {
  /** A project with its environments: read by every flag request, so built once. */
  private readonly scopeByKey;

  constructor(private readonly db: Db) {
    this.scopeByKey = db
      .select({ project: projects, environment: environments })
      .from(projects)
      .leftJoin(environments, eq(environments.projectId, projects.id))
      .where(eq(projects.key, sql.placeholder("key")))
      .orderBy(asc(sql`${environments.key} collate "C"`))
      .prepare("project_scope");
  }

  async listProjects(q: ListQuery): Promise<Listed<ProjectRecord>> {
    const where = filters(projects, q);
    const [items, totals] = await Promise.all([
      this.db.select().from(projects).where(where).orderBy(...ordering(projects, q)).limit(q.limit).offset(q.offset),
      this.db.select({ n: count() }).from(projects).where(where),
    ]);
    return { items, total: totals[0]?.n ?? 0 };
  }

  async projectByKey(key: string): Promise<ProjectRecord | undefined> {
    return (await this.db.select().from(projects).where(eq(projects.key, key)).limit(1))[0];
  }

  async projectScope(key: string) {
    const rows = await this.scopeByKey.execute({ key });
    const first = rows[0];
    if (!first) return undefined;
    return { project: first.project, environments: rows.flatMap((r) => (r.environment ? [r.environment] : [])) };
  }

  async insertProject(project: ProjectRecord, envs: EnvironmentRecord[], audit?: AuditEntry): Promise<void> {
    await this.db
      .transaction(async (tx) => {
        await tx.insert(projects).values(project);
        if (envs.length > 0) await tx.insert(environments).values(envs);
        if (audit) await tx.insert(auditLog).values(audit);
      })
      .catch((e) => translate(e, `A project with key "${project.key}"`));
  }

  async updateProject(project: ProjectRecord, expectedVersion: number, audit?: AuditEntry): Promise<boolean> {
    const { id, ...fields } = project;
    return this.db.transaction(async (tx) => {
      const rows = await tx
        .update(projects)
        .set(fields)
        .where(and(eq(projects.id, id), eq(projects.version, expectedVersion)))
        .returning({ id: projects.id });
      if (rows.length !== 1) return false;
      if (audit) await tx.insert(auditLog).values(audit);
      return true;
    });
  }

  async deleteProject(id: string, audit?: AuditEntry): Promise<string[] | undefined> {
    return this.db.transaction(async (tx) => {
      const envs = await tx.delete(environments).where(eq(environments.projectId, id)).returning({ id: environments.id });
      const deleted = await tx.delete(projects).where(eq(projects.id, id)).returning({ id: projects.id });
      if (deleted.length !== 1) return undefined;
      if (audit) await tx.insert(auditLog).values(audit);
      return envs.map((e) => e.id);
    });
  }

  async listEnvironments(projectId: string, q: ListQuery): Promise<Listed<EnvironmentRecord>> {
    const where = and(eq(environments.projectId, projectId), filters(environments, q));
    const [items, totals] = await Promise.all([
      this.db.select().from(environments).where(where).orderBy(...ordering(environments, q)).limit(q.limit).offset(q.offset),
      this.db.select({ n: count() }).from(environments).where(where),
    ]);
    return { items, total: totals[0]?.n ?? 0 };
  }

  async environmentByKey(projectId: string, key: string): Promise<EnvironmentRecord | undefined> {
    return (
      await this.db
        .select()
        .from(environments)
        .where(and(eq(environments.projectId, projectId), eq(environments.key, key)))
        .limit(1)
    )[0];
  }

  async insertEnvironment(env: EnvironmentRecord, defaultConfig: (flag: FlagGlobal) => FlagEnvironment, audit?: AuditEntry): Promise<void> {
    await this.db
      .transaction(async (tx) => {
        await tx.insert(environments).values(env);
        if (audit) await tx.insert(auditLog).values(audit);
        const projectFlags = await tx.select({ id: flags.id, doc: flags.doc }).from(flags).where(eq(flags.projectId, env.projectId));
        if (projectFlags.length > 0) {
          await tx.insert(flagConfigs).values(
            projectFlags.map((f) => ({ flagId: f.id, environmentId: env.id, config: defaultConfig(f.doc as unknown as FlagGlobal) as unknown as Record<string, unknown> })),
          );
        }
      })
      .catch((e) => translate(e, `An environment with key "${env.key}"`));
  }

  async updateEnvironment(env: EnvironmentRecord, expectedVersion: number, audit?: AuditEntry): Promise<boolean> {
    const { id, ...fields } = env;
    return this.db.transaction(async (tx) => {
      const rows = await tx
        .update(environments)
        .set(fields)
        .where(and(eq(environments.id, id), eq(environments.version, expectedVersion)))
        .returning({ id: environments.id });
      if (rows.length !== 1) return false;
      if (audit) await tx.insert(auditLog).values(audit);
      return true;
    });
  }

  async deleteEnvironment(id: string, audit?: AuditEntry): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const rows = await tx.delete(environments).where(eq(environments.id, id)).returning({ id: environments.id });
      if (rows.length !== 1) return false;
      if (audit) await tx.insert(auditLog).values(audit);
      return true;
    });
  }

  async isBootstrapped(step: string): Promise<boolean> {
    return (await this.db.select().from(flagsBootstrap).where(eq(flagsBootstrap.name, step)).limit(1)).length > 0;
  }

  bootstrapProject(step: string, project: ProjectRecord, envs: EnvironmentRecord[]): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(${LOCK_NAMESPACE}, ${BOOTSTRAP_LOCK})`);
      const done = await tx.select().from(flagsBootstrap).where(eq(flagsBootstrap.name, step)).limit(1);
      if (done.length > 0) return false;
      await tx.insert(flagsBootstrap).values({ name: step, doneAt: Date.now() });
      const taken = await tx.select({ id: projects.id }).from(projects).where(eq(projects.key, project.key)).limit(1);
      if (taken.length > 0) return false;
      await tx.insert(projects).values(project);
      if (envs.length > 0) await tx.insert(environments).values(envs);
      return true;
    });
  }
}
