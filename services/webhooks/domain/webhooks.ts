/**
 * Webhooks (`/api/v2/webhooks`), in LaunchDarkly's shapes. The secret is shown once, in the answer
 * to the create call, and kept sealed (`secret-box.ts`): reads say whether a webhook signs, never
 * with what. A webhook belongs to the account (`webhook/<id>`); its changes are audited like any other,
 * and so reach webhooks themselves.
 */
import { auditEntry, patchChange } from "@vexil/shared/audit/audit";
import { authorize, authorizeRead, type Caller } from "@vexil/shared/caller";
import { invalidRequest, notFound } from "@vexil/shared/errors";
import { link } from "@vexil/shared/http/links";
import { resourceId } from "@vexil/shared/ids";
import { applyPatch, checkPatchedDocument, parsePatchRequest, untilWritten } from "@vexil/shared/patch";
import { statementProblems, type Resource, type Statement } from "@vexil/shared/policy";
import type { WebhookRecord } from "../storage/webhook-store.ts";
import type { WebhooksContext } from "./context.ts";
import { DestinationRefused } from "./destination.ts";
import { WebhookEditable, type WebhookPost } from "./schemas.ts";
import { generateSecret } from "./signing.ts";

export const WEBHOOKS_PATH = "/api/v2/webhooks";
const webhookResource = (id: string): Resource => [{ type: "webhook", key: id }];
/** Stands for the kept secret in the document a PATCH is applied to; leaving it there keeps the secret. */
export const SECRET_KEPT = "********";

export function webhookRep(w: WebhookRecord, secret?: string) {
  return {
    _id: w.id,
    _links: { self: link(`${WEBHOOKS_PATH}/${w.id}`), parent: link(WEBHOOKS_PATH), deliveries: link(`${WEBHOOKS_PATH}/${w.id}/deliveries`) },
    name: w.name ?? undefined,
    url: w.url,
    ...(secret === undefined ? {} : { secret }),
    statements: w.statements ?? undefined,
    on: w.on,
    tags: w.tags,
    /** Not LaunchDarkly's: whether deliveries carry signatures. */
    _signed: w.secretCipher !== null,
  };
}
export type WebhookRep = ReturnType<typeof webhookRep>;

function checkStatements(statements: Statement[] | null | undefined): void {
  if (!statements) return;
  statements.forEach((s, i) => {
    if (s.notResources && s.resources?.length) throw invalidRequest(`statements: statement ${i}: notResources needs resources to be empty`);
    if (s.notActions && s.actions?.length) throw invalidRequest(`statements: statement ${i}: notActions needs actions to be empty`);
  });
  // The policy module's own reading; LaunchDarkly leaves an empty resources list beside notResources.
  const normal = statements.map((s) => ({
    effect: s.effect,
    ...(s.resources?.length ? { resources: s.resources } : { notResources: s.notResources ?? [] }),
    ...(s.actions?.length ? { actions: s.actions } : { notActions: s.notActions ?? [] }),
  }));
  const problems = statementProblems(normal);
  if (problems.length > 0) throw invalidRequest(`statements: ${problems.join("; ")}`);
}

/** Statements as the policy module decides them (empty lists dropped). */
export function normalStatements(statements: Statement[] | null | undefined): Statement[] | null {
  if (!statements || statements.length === 0) return null;
  return statements.map((s) => ({
    effect: s.effect,
    ...(s.resources?.length ? { resources: s.resources } : { notResources: s.notResources ?? [] }),
    ...(s.actions?.length ? { actions: s.actions } : { notActions: s.notActions ?? [] }),
  }));
}

async function checkUrl(ctx: WebhooksContext, url: string): Promise<void> {
  try {
    await ctx.checkDestination(url);
  } catch (e) {
    if (e instanceof DestinationRefused) throw invalidRequest(`url: ${e.message}`);
    throw e;
  }
}

async function webhookOr404(ctx: WebhooksContext, caller: Caller, id: string): Promise<WebhookRecord> {
  authorizeRead(caller);
  const webhook = /^[0-9a-f]{24}$/.test(id) ? await ctx.store.webhookById(id) : undefined;
  if (!webhook) throw notFound(`Webhook "${id}"`);
  return webhook;
}

export async function listWebhooks(ctx: WebhooksContext, caller: Caller) {
  authorizeRead(caller);
  const items = await ctx.store.listWebhooks();
  return { items: items.map((w) => webhookRep(w)), totalCount: items.length, _links: { self: link(WEBHOOKS_PATH) } };
}

export async function getWebhook(ctx: WebhooksContext, caller: Caller, id: string): Promise<WebhookRep> {
  return webhookRep(await webhookOr404(ctx, caller, id));
}

export async function createWebhook(ctx: WebhooksContext, caller: Caller, post: WebhookPost): Promise<WebhookRep> {
  const id = resourceId();
  authorize(caller, "createWebhook", webhookResource(id));
  checkStatements(post.statements);
  await checkUrl(ctx, post.url);
  // `sign: false` means no signature, whatever secret came with it; `sign: true` without one gets a new one.
  const secret = post.sign ? (post.secret ?? generateSecret()) : undefined;
  const webhook: WebhookRecord = {
    id,
    name: post.name ?? null,
    url: post.url,
    secretCipher: secret === undefined ? null : await ctx.secrets.seal(secret, id),
    on: post.on,
    statements: normalStatements(post.statements),
    tags: post.tags ?? [],
    createdAt: ctx.now(),
    version: 1,
  };
  const rep = webhookRep(webhook);
  await ctx.store.insertWebhook(
    webhook,
    auditEntry({ caller, kind: "webhook", spec: `webhook/${id}`, name: webhook.name ?? webhook.url, verb: "created the webhook", actions: ["createWebhook"], current: rep, currentVersion: 1, now: webhook.createdAt }),
  );
  return webhookRep(webhook, secret);
}

const RULES = { readOnly: ["_id", "_links", "_signed"], editable: WebhookEditable } as const;

export async function patchWebhook(ctx: WebhooksContext, caller: Caller, id: string, body: unknown, contentType: string | null): Promise<WebhookRep> {
  const request = parsePatchRequest(body, contentType);
  return untilWritten(async () => {
    const current = await webhookOr404(ctx, caller, id);
    const rep = webhookRep(current);
    // The document patched: the representation with `name`, `statements` and `secret` always
    // present (null when unset), so `replace` works on them as it does on LaunchDarkly's.
    const doc = { ...rep, name: current.name, statements: current.statements, secret: current.secretCipher === null ? null : SECRET_KEPT };
    const fields = checkPatchedDocument<WebhookEditable>(doc, applyPatch(doc, request), RULES);
    checkStatements(fields.statements);
    const statements = normalStatements(fields.statements);
    const actions: string[] = [];
    if (fields.name !== current.name) actions.push("updateName");
    if (fields.url !== current.url) actions.push("updateUrl");
    if (fields.secret !== doc.secret) actions.push("updateSecret");
    if (fields.on !== current.on) actions.push("updateOn");
    if (!Bun.deepEquals(statements, current.statements)) actions.push("updateStatements");
    if (!Bun.deepEquals(fields.tags, current.tags)) actions.push("updateTags");
    if (actions.length === 0) return rep;
    authorize(caller, actions, webhookResource(current.id));
    if (fields.url !== current.url) await checkUrl(ctx, fields.url);
    if (fields.secret === SECRET_KEPT && current.secretCipher === null) throw invalidRequest(`Invalid secret: "${SECRET_KEPT}" stands for a kept secret and this webhook has none`);
    const secretCipher = fields.secret === doc.secret ? current.secretCipher : fields.secret === null ? null : await ctx.secrets.seal(fields.secret, current.id);
    const next: WebhookRecord = { ...current, name: fields.name, url: fields.url, secretCipher, on: fields.on, statements, tags: fields.tags, version: current.version + 1 };
    const after = webhookRep(next);
    // The patch is recorded without a new secret in it.
    const mask = (op: unknown) => ((op as { path?: unknown }).path === "/secret" && (op as { value?: unknown }).value !== undefined ? { ...(op as object), value: SECRET_KEPT } : op);
    const delta = request.format === "json-patch" ? request.operations.map(mask) : request.format === "merge" && "secret" in request.merge ? { ...request.merge, secret: SECRET_KEPT } : undefined;
    const audit = auditEntry({
      caller,
      kind: "webhook",
      spec: `webhook/${current.id}`,
      name: next.name ?? next.url,
      actions,
      ...patchChange(request, "webhook", { previous: rep, current: after }, { previous: current.version, current: next.version }, ctx.now(), delta),
    });
    return (await ctx.store.updateWebhook(next, current.version, audit)) ? after : undefined;
  });
}

export async function deleteWebhook(ctx: WebhooksContext, caller: Caller, id: string): Promise<void> {
  const webhook = await webhookOr404(ctx, caller, id);
  authorize(caller, "deleteWebhook", webhookResource(webhook.id));
  const audit = auditEntry({ caller, kind: "webhook", spec: `webhook/${webhook.id}`, name: webhook.name ?? webhook.url, verb: "deleted the webhook", actions: ["deleteWebhook"], previous: webhookRep(webhook), previousVersion: webhook.version, now: ctx.now() });
  if (!(await ctx.store.deleteWebhook(webhook.id, audit))) throw notFound(`Webhook "${id}"`);
}
