/**
 * A flag's changes in one environment: its approval requests (review, apply, delete) and its
 * scheduled changes (delete), both made from the flag page's review of a change; and the delivery
 * receipts of its recent changes (how many SDK streams got each, and how fast).
 */
import { Alert, Anchor, Badge, Button, Card, Group, NativeSelect, Stack, Table, Text, TextInput, Title } from "@mantine/core";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Link, useSearchParams } from "wouter";
import { api, enc, environmentsOf, errorText, type Flag, type Page, type Project } from "../api.ts";
import { describe, type Instruction } from "../review.tsx";

interface Review {
  _id: string;
  kind: "approve" | "decline" | "comment";
  comment?: string;
  memberId?: string;
  creationDate: number;
}
interface ApprovalRequest {
  _id: string;
  description: string;
  requestorId: string;
  creationDate: number;
  status: string;
  reviewStatus: string;
  allReviews: Review[];
  instructions: Instruction[];
  conflicts: Array<{ reason: string }>;
  appliedDate?: number;
  executionDate?: number;
}
interface ScheduledChange {
  _id: string;
  executionDate: number;
  instructions: Instruction[];
  _failure?: { reason: string };
}

/** The flag, its project's environments and the one chosen (`?env=`), shared by both pages. */
function useFlagInEnv(projectKey: string, flagKey: string) {
  const project = useQuery({ queryKey: ["project", projectKey], queryFn: () => api<Project>("GET", `/api/v2/projects/${enc(projectKey)}?expand=environments`) });
  const envs = project.data ? environmentsOf(project.data) : [];
  const [params, setParams] = useSearchParams();
  const env = params.get("env") ?? envs.find((e) => e.key === "production")?.key ?? envs[0]?.key ?? "";
  const flag = useQuery({ queryKey: ["flag", projectKey, flagKey, env], queryFn: () => api<Flag>("GET", `/api/v2/flags/${enc(projectKey)}/${enc(flagKey)}?env=${enc(env)}&summary=0`), enabled: env !== "" });
  const picker = <NativeSelect label="Environment" w={240} value={env} data={envs.map((e) => ({ value: e.key, label: e.name }))} onChange={(e) => setParams({ env: e.currentTarget.value })} />;
  const base = `/api/v2/projects/${enc(projectKey)}/flags/${enc(flagKey)}/environments/${enc(env)}`;
  return { env, flag, picker, base };
}

const when = (ms: number) => new Date(ms).toLocaleString();

function Header({ projectKey, flagKey, env, title }: { projectKey: string; flagKey: string; env: string; title: string }) {
  return (
    <Group justify="space-between">
      <Title order={1}>{title}</Title>
      <Anchor component={Link} href={`/projects/${projectKey}/flags/${flagKey}?env=${env}`}>
        Back to the flag
      </Anchor>
    </Group>
  );
}

export function ApprovalsPage({ projectKey, flagKey }: { projectKey: string; flagKey: string }) {
  const { env, flag, picker, base } = useFlagInEnv(projectKey, flagKey);
  const key = ["approvals", projectKey, flagKey, env];
  const list = useQuery({ queryKey: key, queryFn: () => api<Page<ApprovalRequest>>("GET", `${base}/approval-requests`), enabled: env !== "" });
  // Member ids shown as emails where the caller may read members; otherwise as ids.
  const members = useQuery({ queryKey: ["members"], queryFn: () => api<Page<{ _id: string; email: string }>>("GET", "/api/v2/members?limit=100"), retry: false });
  const who = (id: string | undefined) => (id === undefined ? "a token" : (members.data?.items.find((m) => m._id === id)?.email ?? id));
  return (
    <Stack>
      <Header projectKey={projectKey} flagKey={flagKey} env={env} title={`Approval requests of ${flag.data?.name ?? flagKey}`} />
      {picker}
      {list.error && <Alert color="red">{errorText(list.error)}</Alert>}
      {list.data?.items.length === 0 && <Text>No approval requests in {env}.</Text>}
      {flag.data &&
        list.data?.items.map((r) => <ApprovalCard key={r._id} request={r} flag={flag.data} base={base} queryKey={key} projectKey={projectKey} who={who} />)}
    </Stack>
  );
}

function ApprovalCard({
  request: r,
  flag,
  base,
  queryKey,
  projectKey,
  who,
}: {
  request: ApprovalRequest;
  flag: Flag;
  base: string;
  queryKey: string[];
  projectKey: string;
  who(id: string | undefined): string;
}) {
  const client = useQueryClient();
  const [comment, setComment] = useState("");
  const done = () => {
    setComment("");
    void client.invalidateQueries({ queryKey });
    void client.invalidateQueries({ queryKey: ["flag", projectKey, flag.key] });
  };
  const review = useMutation({ mutationFn: (kind: string) => api("POST", `${base}/approval-requests/${enc(r._id)}/reviews`, { kind, ...(comment ? { comment } : {}) }), onSuccess: done });
  const apply = useMutation({ mutationFn: () => api("POST", `${base}/approval-requests/${enc(r._id)}/apply`, comment ? { comment } : {}), onSuccess: done });
  const remove = useMutation({ mutationFn: () => api("DELETE", `${base}/approval-requests/${enc(r._id)}`), onSuccess: done });
  const error = review.error ?? apply.error ?? remove.error;
  const pending = r.status === "pending";
  return (
    <Card withBorder data-testid="approval-request" aria-label={`Approval request: ${r.description}`} component="section">
      <Stack gap="xs">
        <Group justify="space-between">
          <Title order={2} size="h4">
            {r.description}
          </Title>
          <Group gap="xs">
            <Badge variant="light">{r.status}</Badge>
            <Badge variant="outline" color="dark">
              {r.reviewStatus}
            </Badge>
          </Group>
        </Group>
        <Text size="sm">
          Requested {when(r.creationDate)} by {who(r.requestorId)}
          {r.executionDate ? `, to apply at ${when(r.executionDate)}` : ""}
          {r.appliedDate ? `; applied ${when(r.appliedDate)}` : ""}
        </Text>
        <ul>
          {r.instructions.map((i, n) => (
            <li key={n}>
              <Text size="sm">{describe(flag, i)}</Text>
            </li>
          ))}
        </ul>
        {r.conflicts.length > 0 && (
          <Alert color="orange" title="Conflicts with changes made since">
            {r.conflicts.map((c) => c.reason).join("; ")}
          </Alert>
        )}
        {r.allReviews.length > 0 && (
          <Table aria-label="Reviews">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Review</Table.Th>
                <Table.Th>By</Table.Th>
                <Table.Th>Comment</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {r.allReviews.map((v) => (
                <Table.Tr key={v._id}>
                  <Table.Td>{v.kind}</Table.Td>
                  <Table.Td>{who(v.memberId)}</Table.Td>
                  <Table.Td>{v.comment ?? ""}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        )}
        {pending && (
          <>
            <TextInput label="Review comment" aria-label={`Review comment on ${r.description}`} value={comment} onChange={(e) => setComment(e.currentTarget.value)} />
            <Group>
              <Button size="xs" onClick={() => review.mutate("approve")} loading={review.isPending}>
                Approve
              </Button>
              <Button size="xs" color="red" variant="light" onClick={() => review.mutate("decline")}>
                Decline
              </Button>
              <Button size="xs" variant="default" onClick={() => review.mutate("comment")} disabled={comment === ""}>
                Comment
              </Button>
              <Button size="xs" onClick={() => apply.mutate()} loading={apply.isPending} disabled={r.reviewStatus !== "approved" && r.reviewStatus !== "declined"}>
                Apply
              </Button>
              <Button size="xs" variant="subtle" color="red" onClick={() => remove.mutate()}>
                Delete the request
              </Button>
            </Group>
          </>
        )}
        {error && (
          <Alert color="red" role="alert">
            {errorText(error)}
          </Alert>
        )}
      </Stack>
    </Card>
  );
}

export function ScheduledChangesPage({ projectKey, flagKey }: { projectKey: string; flagKey: string }) {
  const client = useQueryClient();
  const { env, flag, picker, base } = useFlagInEnv(projectKey, flagKey);
  const key = ["scheduled", projectKey, flagKey, env];
  const list = useQuery({ queryKey: key, queryFn: () => api<Page<ScheduledChange>>("GET", `${base}/scheduled-changes`), enabled: env !== "" });
  const remove = useMutation({ mutationFn: (id: string) => api("DELETE", `${base}/scheduled-changes/${enc(id)}`), onSuccess: () => void client.invalidateQueries({ queryKey: key }) });
  return (
    <Stack>
      <Header projectKey={projectKey} flagKey={flagKey} env={env} title={`Scheduled changes of ${flag.data?.name ?? flagKey}`} />
      {picker}
      <Text size="sm" c="dimmed">
        Make one from the flag page: edit, then "Review and save" and "Schedule the change".
      </Text>
      {(list.error ?? remove.error) && (
        <Alert color="red" role="alert">
          {errorText(list.error ?? remove.error)}
        </Alert>
      )}
      {list.data?.items.length === 0 && <Text>No scheduled changes in {env}.</Text>}
      {flag.data && list.data && list.data.items.length > 0 && (
        <Table aria-label="Scheduled changes">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>When</Table.Th>
              <Table.Th>Instructions</Table.Th>
              <Table.Th>Action</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {list.data.items.map((c) => (
              <Table.Tr key={c._id} data-testid="scheduled-change">
                <Table.Td>{when(c.executionDate)}</Table.Td>
                <Table.Td>
                  {c.instructions.map((i) => describe(flag.data, i, env)).join("; ")}
                  {c._failure && <Text c="red" size="sm">Failed: {c._failure.reason}</Text>}
                </Table.Td>
                <Table.Td>
                  <Button size="xs" variant="subtle" color="red" onClick={() => remove.mutate(c._id)} aria-label={`Delete the change scheduled for ${when(c.executionDate)}`}>
                    Delete
                  </Button>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  );
}

interface Receipt {
  environmentKey: string;
  version: number;
  committedAt: number;
  streams: number;
  instances: Array<{ instance: string; streams: number; lagMs: number }>;
  lagMs?: { p50: number; p99: number; max: number };
}

/** How the flag's recent changes reached the SDK streams of one environment: streams and lag per change. */
export function DeliveriesPage({ projectKey, flagKey }: { projectKey: string; flagKey: string }) {
  const { env, flag, picker } = useFlagInEnv(projectKey, flagKey);
  const receipts = useQuery({
    queryKey: ["flag-deliveries", projectKey, flagKey, env],
    queryFn: () => api<{ items: Receipt[] }>("GET", `/api/v2/flags/${enc(projectKey)}/${enc(flagKey)}/deliveries?env=${enc(env)}`),
    enabled: env !== "",
  });
  return (
    <Stack>
      <Header projectKey={projectKey} flagKey={flagKey} env={env} title={`Delivery of ${flag.data?.name ?? flagKey}'s changes`} />
      {picker}
      <Group>
        <Text size="sm" c="dimmed">
          Each recent change in {env}: how many SDK streams got it and how long after it was committed (since this server started).
        </Text>
        <Button size="compact-xs" variant="default" onClick={() => void receipts.refetch()}>
          Refresh the receipts
        </Button>
      </Group>
      {receipts.error && <Alert color="red">{errorText(receipts.error)}</Alert>}
      {receipts.data?.items.length === 0 && <Text>No change of this flag in {env} has been delivered since the server started.</Text>}
      {receipts.data && receipts.data.items.length > 0 && (
        <Table aria-label="Delivery receipts">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Version</Table.Th>
              <Table.Th>Committed</Table.Th>
              <Table.Th>Streams</Table.Th>
              <Table.Th>Lag p50 / p99 / max</Table.Th>
              <Table.Th>Streaming instances</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {receipts.data.items.map((r) => (
              <Table.Tr key={`${r.environmentKey}-${r.version}`} data-testid="receipt">
                <Table.Td>{r.version}</Table.Td>
                <Table.Td>{when(r.committedAt)}</Table.Td>
                <Table.Td>{r.streams}</Table.Td>
                <Table.Td>{r.lagMs ? `${r.lagMs.p50} / ${r.lagMs.p99} / ${r.lagMs.max} ms` : "—"}</Table.Td>
                <Table.Td>{r.instances.map((i) => `${i.instance}: ${i.streams} in ${i.lagMs} ms`).join("; ")}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  );
}
