/**
 * Routes of approval requests: flag-scoped
 * (`/api/v2/projects/{projectKey}/flags/{flagKey}/environments/{environmentKey}/approval-requests…`)
 * and generic (`/api/v2/approval-requests…`), with LaunchDarkly's operation ids.
 */
import { Elysia, t } from "elysia";
import type { Assertions } from "@vexil/shared/assertion";
import { operation } from "@vexil/shared/http/openapi";
import type { FlagsContext } from "../domain/context.ts";
import { applyApproval, createApproval, deleteApproval, getApproval, getFlagApproval, listApprovals, listFlagApprovals, reviewApproval } from "../domain/approvals/reads.ts";
import { applyFlagApproval, createCopyApproval, createFlagApproval, deleteFlagApproval, reviewFlagApproval, type Where } from "../domain/approvals/requests.ts";
import { APPROVAL_DOCS, ApplyPost, ApprovalPost, CopyApprovalPost, FlagApprovalPost, ReviewPost } from "../openapi/approvals.ts";

const Key = t.String({ maxLength: 140 });
const Id = t.String({ maxLength: 64 });
const Params = t.Object({ projectKey: Key, flagKey: Key, environmentKey: Key });
const OneParams = t.Object({ projectKey: Key, flagKey: Key, environmentKey: Key, id: Id });
const base = "/api/v2/projects/:projectKey/flags/:flagKey/environments/:environmentKey";
const generic = "/api/v2/approval-requests";
const TAG = "Approvals";
const ListQuery = t.Object(
  { filter: t.Optional(t.String({ maxLength: 2000 })), expand: t.Optional(t.String({ maxLength: 200 })), limit: t.Optional(t.String()), offset: t.Optional(t.String()) },
  { additionalProperties: true },
);
const ExpandQuery = t.Object({ expand: t.Optional(t.String({ maxLength: 200 })) }, { additionalProperties: true });

const where = (p: { projectKey: string; flagKey: string; environmentKey: string }): Where => ({ projectKey: p.projectKey, flagKey: p.flagKey, envKey: p.environmentKey });

export function approvalRoutes(ctx: FlagsContext, assertions: Assertions) {
  const caller = (request: Request) => assertions.callerOf(request);
  const ok = { 200: "FlagConfigApprovalRequestResponse" } as const;
  const okGeneric = { 200: "ApprovalRequestResponse" } as const;
  return (
    new Elysia({ normalize: false })
      // Flag-scoped.
      .get(`${base}/approval-requests`, async ({ request, params }) => listFlagApprovals(ctx, await caller(request), where(params)), {
        params: Params,
        detail: operation({ id: "getApprovalsForFlag", tag: TAG, summary: "List a flag's approval requests in an environment", ok: { 200: "FlagConfigApprovalRequestsResponse" }, errors: [403, 404] }),
      })
      .post(
        `${base}/approval-requests`,
        async ({ request, params, body, set }) => {
          const made = await createFlagApproval(ctx, await caller(request), where(params), body);
          set.status = 201;
          return made;
        },
        {
          params: Params,
          body: FlagApprovalPost,
          detail: operation({
            id: "postApprovalRequestForFlag",
            tag: TAG,
            summary: "Ask for approval of a change to a flag in an environment",
            description: APPROVAL_DOCS.create,
            ok: { 201: "FlagConfigApprovalRequestResponse" },
            errors: [403, 404],
            requestExample: { description: "Turn on new checkout", instructions: [{ kind: "turnFlagOn" }], comment: "ready after load test" },
          }),
        },
      )
      .post(
        `${base}/approval-requests-flag-copy`,
        async ({ request, params, body, set }) => {
          const made = await createCopyApproval(ctx, await caller(request), where(params), body);
          set.status = 201;
          return made;
        },
        {
          params: Params,
          body: CopyApprovalPost,
          detail: operation({
            id: "postFlagCopyConfigApprovalRequest",
            tag: TAG,
            summary: "Ask for approval of a copy of another environment's targeting to this one",
            description: APPROVAL_DOCS.copy,
            ok: { 201: "FlagConfigApprovalRequestResponse" },
            errors: [403, 404, 409],
            requestExample: { description: "Copy test to production", source: { key: "test" } },
          }),
        },
      )
      .get(`${base}/approval-requests/:id`, async ({ request, params }) => getFlagApproval(ctx, await caller(request), where(params), params.id), {
        params: OneParams,
        detail: operation({ id: "getApprovalForFlag", tag: TAG, summary: "Get an approval request of a flag", ok, errors: [403, 404] }),
      })
      .delete(
        `${base}/approval-requests/:id`,
        async ({ request, params, set }) => {
          await deleteFlagApproval(ctx, await caller(request), where(params), params.id);
          set.status = 204;
        },
        { params: OneParams, detail: operation({ id: "deleteApprovalRequestForFlag", tag: TAG, summary: "Delete an approval request of a flag", description: APPROVAL_DOCS.delete, ok: { 204: null }, errors: [403, 404] }) },
      )
      .post(`${base}/approval-requests/:id/reviews`, async ({ request, params, body }) => reviewFlagApproval(ctx, await caller(request), where(params), params.id, body), {
        params: OneParams,
        body: ReviewPost,
        detail: operation({ id: "postApprovalRequestReviewForFlag", tag: TAG, summary: "Review an approval request of a flag", description: APPROVAL_DOCS.review, ok, errors: [403, 404], requestExample: { kind: "approve", comment: "Looks good" } }),
      })
      .post(`${base}/approval-requests/:id/apply`, async ({ request, params, body }) => applyFlagApproval(ctx, await caller(request), where(params), params.id, body), {
        params: OneParams,
        body: ApplyPost,
        detail: operation({ id: "postApprovalRequestApplyForFlag", tag: TAG, summary: "Apply an approved request of a flag", description: APPROVAL_DOCS.apply, ok, errors: [403, 404], requestExample: { comment: "shipping" } }),
      })
      // Generic.
      .get(generic, async ({ request, query }) => listApprovals(ctx, await caller(request), query), {
        query: ListQuery,
        detail: operation({ id: "getApprovalRequests", tag: TAG, summary: "List approval requests", description: APPROVAL_DOCS.list, ok: { 200: "ExpandableApprovalRequestsResponse" }, errors: [403] }),
      })
      .post(
        generic,
        async ({ request, body, set }) => {
          const made = await createApproval(ctx, await caller(request), body);
          set.status = 201;
          return made;
        },
        {
          body: ApprovalPost,
          detail: operation({
            id: "postApprovalRequest",
            tag: TAG,
            summary: "Ask for approval of a change to a resource",
            description: `${APPROVAL_DOCS.create} ${APPROVAL_DOCS.generic}`,
            ok: { 201: "ApprovalRequestResponse" },
            errors: [403, 404],
            requestExample: { resourceId: "proj/default:env/production:flag/new-checkout", description: "Turn on new checkout", instructions: [{ kind: "turnFlagOn" }] },
          }),
        },
      )
      .get(`${generic}/:id`, async ({ request, params, query }) => getApproval(ctx, await caller(request), params.id, query.expand), {
        params: t.Object({ id: Id }),
        query: ExpandQuery,
        detail: operation({ id: "getApprovalRequest", tag: TAG, summary: "Get an approval request", ok: { 200: "ExpandableApprovalRequestResponse" }, errors: [403, 404] }),
      })
      .delete(
        `${generic}/:id`,
        async ({ request, params, set }) => {
          await deleteApproval(ctx, await caller(request), params.id);
          set.status = 204;
        },
        { params: t.Object({ id: Id }), detail: operation({ id: "deleteApprovalRequest", tag: TAG, summary: "Delete an approval request", description: APPROVAL_DOCS.delete, ok: { 204: null }, errors: [403, 404] }) },
      )
      .post(`${generic}/:id/reviews`, async ({ request, params, body }) => reviewApproval(ctx, await caller(request), params.id, body), {
        params: t.Object({ id: Id }),
        body: ReviewPost,
        detail: operation({ id: "postApprovalRequestReview", tag: TAG, summary: "Review an approval request", description: APPROVAL_DOCS.review, ok: okGeneric, errors: [403, 404] }),
      })
      .post(`${generic}/:id/apply`, async ({ request, params, body }) => applyApproval(ctx, await caller(request), params.id, body), {
        params: t.Object({ id: Id }),
        body: ApplyPost,
        detail: operation({ id: "postApprovalRequestApply", tag: TAG, summary: "Apply an approved request", description: APPROVAL_DOCS.apply, ok: okGeneric, errors: [403, 404] }),
      })
  );
}
