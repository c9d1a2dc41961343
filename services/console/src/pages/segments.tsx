/**
 * Segments of one environment: the list (with a new segment form) and a segment's page — included
 * and excluded context keys and rules — whose edits are sent, after a preview, as one semantic patch
 * with a comment.
 */
import { Alert, Anchor, Button, Card, Checkbox, Code, Fieldset, Group, List, NativeSelect, NumberInput, Stack, Table, Text, TextInput, Textarea, Title } from "@mantine/core";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { Link, useSearchParams } from "wouter";
import { SEMANTIC_PATCH, api, enc, environmentsOf, errorText, type Clause, type Page, type Project } from "../api.ts";
import { clauseText, type Instruction } from "../review.tsx";
import { OPERATORS } from "./flag.tsx";
import { CallError } from "../parts.tsx";

interface Segment {
  key: string;
  name: string;
  description?: string;
  tags: string[];
  version: number;
  included: string[];
  excluded: string[];
  includedContexts?: Array<{ contextKind: string; values: string[] }>;
  excludedContexts?: Array<{ contextKind: string; values: string[] }>;
  rules: Array<{ _id: string; clauses: Clause[]; weight?: number; bucketBy?: string }>;
}

const listOf = (text: string) => text.split(",").map((v) => v.trim()).filter((v) => v !== "");
const NUMERIC = new Set(["lessThan", "lessThanOrEqual", "greaterThan", "greaterThanOrEqual"]);

function useEnvironment(projectKey: string) {
  const project = useQuery({ queryKey: ["project", projectKey], queryFn: () => api<Project>("GET", `/api/v2/projects/${enc(projectKey)}?expand=environments`) });
  const envs = project.data ? environmentsOf(project.data) : [];
  const [params, setParams] = useSearchParams();
  const env = params.get("env") ?? envs.find((e) => e.key === "production")?.key ?? envs[0]?.key ?? "";
  const picker = <NativeSelect label="Environment" w={240} value={env} data={envs.map((e) => ({ value: e.key, label: e.name }))} onChange={(e) => setParams({ env: e.currentTarget.value })} />;
  return { project, env, picker };
}

export function SegmentsPage({ projectKey }: { projectKey: string }) {
  const client = useQueryClient();
  const { project, env, picker } = useEnvironment(projectKey);
  const segments = useQuery({ queryKey: ["segments", projectKey, env], queryFn: () => api<Page<Segment>>("GET", `/api/v2/segments/${enc(projectKey)}/${enc(env)}`), enabled: env !== "" });
  const [key, setKey] = useState("");
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const create = useMutation({
    mutationFn: () => api<Segment>("POST", `/api/v2/segments/${enc(projectKey)}/${enc(env)}`, { key, name: name || key, ...(description ? { description } : {}) }),
    onSuccess: () => {
      setKey("");
      setName("");
      setDescription("");
      void client.invalidateQueries({ queryKey: ["segments", projectKey, env] });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate();
  };
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={1}>{project.data?.name ?? projectKey}: segments</Title>
        <Anchor component={Link} href={`/projects/${projectKey}?env=${env}`}>
          Flags of {project.data?.name ?? projectKey}
        </Anchor>
      </Group>
      {picker}
      {segments.error && <Alert color="red">{errorText(segments.error)}</Alert>}
      {segments.data?.items.length === 0 && <Text>No segments in {env}.</Text>}
      {segments.data && segments.data.items.length > 0 && (
        <Table striped aria-label="Segments">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Name</Table.Th>
              <Table.Th>Key</Table.Th>
              <Table.Th>Included</Table.Th>
              <Table.Th>Excluded</Table.Th>
              <Table.Th>Rules</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {segments.data.items.map((s) => (
              <Table.Tr key={s.key}>
                <Table.Td>
                  <Anchor component={Link} href={`/projects/${projectKey}/segments/${s.key}?env=${env}`}>
                    {s.name}
                  </Anchor>
                </Table.Td>
                <Table.Td>
                  <Code>{s.key}</Code>
                </Table.Td>
                <Table.Td>{s.included.length + (s.includedContexts ?? []).reduce((n, t) => n + t.values.length, 0)}</Table.Td>
                <Table.Td>{s.excluded.length + (s.excludedContexts ?? []).reduce((n, t) => n + t.values.length, 0)}</Table.Td>
                <Table.Td>{s.rules.length}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      <form onSubmit={submit} aria-labelledby="new-segment">
        <Stack maw={480}>
          <Title order={2} size="h3" id="new-segment">
            New segment in {env}
          </Title>
          <TextInput label="Segment key" required value={key} onChange={(e) => setKey(e.currentTarget.value)} />
          <TextInput label="Segment name" value={name} onChange={(e) => setName(e.currentTarget.value)} />
          <TextInput label="Segment description" value={description} onChange={(e) => setDescription(e.currentTarget.value)} />
          <CallError error={create.error} />
          <Group>
            <Button type="submit" loading={create.isPending} disabled={env === ""}>
              Create segment
            </Button>
          </Group>
        </Stack>
      </form>
    </Stack>
  );
}

interface DraftClause {
  attribute: string;
  op: string;
  values: string;
  negate: boolean;
}
interface Draft {
  included: string;
  excluded: string;
  removedRules: string[];
  newRules: Array<{ clauses: DraftClause[]; weight: number | "" }>;
}

const draftOf = (s: Segment): Draft => ({ included: s.included.join(", "), excluded: s.excluded.join(", "), removedRules: [], newRules: [] });

function instructionsOf(before: Draft, after: Draft): Instruction[] {
  const out: Instruction[] = [];
  for (const side of ["included", "excluded"] as const) {
    const was = new Set(listOf(before[side]));
    const now = new Set(listOf(after[side]));
    const removed = [...was].filter((x) => !now.has(x));
    const added = [...now].filter((x) => !was.has(x));
    const Side = side === "included" ? "Included" : "Excluded";
    if (removed.length > 0) out.push({ kind: `remove${Side}Targets`, contextKind: "user", values: removed });
    if (added.length > 0) out.push({ kind: `add${Side}Targets`, contextKind: "user", values: added });
  }
  for (const ruleId of after.removedRules) out.push({ kind: "removeRule", ruleId });
  for (const r of after.newRules) {
    const clauses = r.clauses.map((c) => ({ contextKind: "user", attribute: c.attribute, op: c.op, negate: c.negate, values: NUMERIC.has(c.op) ? listOf(c.values).map(Number) : listOf(c.values) }));
    out.push({ kind: "addRule", clauses, ...(r.weight === "" ? {} : { weight: Math.round(r.weight * 1000) }) });
  }
  return out;
}

function describe(i: Instruction): string {
  switch (i.kind) {
    case "addIncludedTargets":
      return `Include ${(i.values as string[]).join(", ")}`;
    case "removeIncludedTargets":
      return `Stop including ${(i.values as string[]).join(", ")}`;
    case "addExcludedTargets":
      return `Exclude ${(i.values as string[]).join(", ")}`;
    case "removeExcludedTargets":
      return `Stop excluding ${(i.values as string[]).join(", ")}`;
    case "removeRule":
      return `Remove the rule ${String(i.ruleId)}`;
    case "addRule":
      return `Add a rule: if ${(i.clauses as Clause[]).map(clauseText).join(" and ")}${i.weight !== undefined ? `, ${Number(i.weight) / 1000}% of them` : ""}`;
    default:
      return i.kind;
  }
}

export function SegmentPage({ projectKey, segmentKey }: { projectKey: string; segmentKey: string }) {
  const client = useQueryClient();
  const { env, picker } = useEnvironment(projectKey);
  const path = `/api/v2/segments/${enc(projectKey)}/${enc(env)}/${enc(segmentKey)}`;
  const segment = useQuery({ queryKey: ["segment", projectKey, env, segmentKey], queryFn: () => api<Segment>("GET", path), enabled: env !== "" });
  const [edit, setEdit] = useState<{ env: string; base: Draft; draft: Draft } | undefined>();
  const [comment, setComment] = useState("");
  const [reviewing, setReviewing] = useState(false);
  const instructionsFor = () => (edit && edit.env === env ? instructionsOf(edit.base, edit.draft) : []);
  const save = useMutation({
    mutationFn: () => api<Segment>("PATCH", path, { environmentKey: env, instructions: instructionsFor(), ...(comment ? { comment } : {}) }, { "content-type": SEMANTIC_PATCH }),
    onSuccess: () => {
      setEdit(undefined);
      setComment("");
      setReviewing(false);
      void client.invalidateQueries({ queryKey: ["segment", projectKey, env, segmentKey] });
      void client.invalidateQueries({ queryKey: ["segments", projectKey, env] });
    },
  });
  if (segment.error) return <Alert color="red">{errorText(segment.error)}</Alert>;
  if (!segment.data) return <Text>Loading…</Text>;
  const s = segment.data;
  const original = draftOf(s);
  const current = edit && edit.env === env ? edit : undefined;
  const draft = current?.draft ?? original;
  const instructions = current ? instructionsOf(current.base, current.draft) : [];
  const update = (d: Partial<Draft>) => {
    save.reset();
    setEdit({ env, base: current?.base ?? original, draft: { ...draft, ...d } });
  };
  const setRule = (i: number, r: Draft["newRules"][number]) => update({ newRules: draft.newRules.map((x, j) => (j === i ? r : x)) });
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={1}>{s.name}</Title>
        <Anchor component={Link} href={`/projects/${projectKey}/segments?env=${env}`}>
          All segments
        </Anchor>
      </Group>
      <Group>
        <Code>{s.key}</Code>
        <Text size="sm">version {s.version}</Text>
        {s.description && <Text size="sm">{s.description}</Text>}
      </Group>
      {picker}
      <Card withBorder>
        <Title order={2} size="h4" mb="xs">
          Targets
        </Title>
        <Group align="start">
          <TextInput w={360} label="Included context keys" description="Always in the segment; comma-separated" value={draft.included} onChange={(e) => update({ included: e.currentTarget.value })} />
          <TextInput w={360} label="Excluded context keys" description="Never in the segment; comma-separated" value={draft.excluded} onChange={(e) => update({ excluded: e.currentTarget.value })} />
        </Group>
      </Card>
      <Card withBorder>
        <Title order={2} size="h4" mb="xs">
          Rules
        </Title>
        <Stack gap="xs">
          {s.rules.map((r, i) => {
            const removed = draft.removedRules.includes(r._id);
            return (
              <Group key={r._id} justify="space-between" data-testid="segment-rule">
                <Text size="sm" td={removed ? "line-through" : undefined}>
                  Rule {i + 1}: {r.clauses.map(clauseText).join(" and ")}
                  {r.weight !== undefined ? ` (${r.weight / 1000}% of them)` : ""}
                </Text>
                <Button size="xs" variant="subtle" color={removed ? "gray" : "red"} onClick={() => update({ removedRules: removed ? draft.removedRules.filter((x) => x !== r._id) : [...draft.removedRules, r._id] })}>
                  {removed ? `Keep rule ${i + 1}` : `Remove rule ${i + 1}`}
                </Button>
              </Group>
            );
          })}
          {draft.newRules.map((r, i) => {
            const n = s.rules.length + i + 1;
            const setClause = (k: number, c: Partial<DraftClause>) => setRule(i, { ...r, clauses: r.clauses.map((x, j) => (j === k ? { ...x, ...c } : x)) });
            return (
              <Fieldset key={i} legend={`New rule ${n}`}>
                <Stack gap="xs">
                  {r.clauses.map((c, k) => (
                    <Group key={k} align="end">
                      <TextInput label="Attribute" aria-label={`Rule ${n} clause ${k + 1} attribute`} value={c.attribute} onChange={(e) => setClause(k, { attribute: e.currentTarget.value })} />
                      <NativeSelect label="Operator" aria-label={`Rule ${n} clause ${k + 1} operator`} value={c.op} data={OPERATORS.filter((o) => o !== "segmentMatch")} onChange={(e) => setClause(k, { op: e.currentTarget.value })} />
                      <TextInput label="Values" aria-label={`Rule ${n} clause ${k + 1} values`} description="Comma-separated" w={240} value={c.values} onChange={(e) => setClause(k, { values: e.currentTarget.value })} />
                      <Checkbox label="Negate" aria-label={`Rule ${n} clause ${k + 1} negate`} checked={c.negate} onChange={(e) => setClause(k, { negate: e.currentTarget.checked })} mb={8} />
                    </Group>
                  ))}
                  <NumberInput
                    w={260}
                    label={`Rule ${n}: % of matching contexts`}
                    description="Empty: all of them"
                    min={0}
                    max={100}
                    decimalScale={3}
                    hideControls
                    value={r.weight}
                    onChange={(v) => setRule(i, { ...r, weight: v === "" ? "" : Number(v) })}
                  />
                  <Group>
                    <Button size="xs" variant="default" onClick={() => setRule(i, { ...r, clauses: [...r.clauses, { attribute: "key", op: "in", values: "", negate: false }] })}>
                      Add clause to rule {n}
                    </Button>
                    <Button size="xs" variant="subtle" color="red" onClick={() => update({ newRules: draft.newRules.filter((_, j) => j !== i) })}>
                      Discard rule {n}
                    </Button>
                  </Group>
                </Stack>
              </Fieldset>
            );
          })}
          <Group>
            <Button size="xs" variant="default" onClick={() => update({ newRules: [...draft.newRules, { clauses: [{ attribute: "key", op: "in", values: "", negate: false }], weight: "" }] })}>
              Add rule
            </Button>
          </Group>
        </Stack>
      </Card>
      {reviewing && instructions.length > 0 && (
        <Card withBorder component="section" aria-labelledby="segment-review">
          <Stack>
            <Title order={2} size="h4" id="segment-review">
              Review the change
            </Title>
            <List size="sm" data-testid="segment-preview">
              {instructions.map((i, n) => (
                <List.Item key={n}>{describe(i)}</List.Item>
              ))}
            </List>
            <Textarea label="Comment" description="Recorded in the audit log with the change" value={comment} onChange={(e) => setComment(e.currentTarget.value)} autosize minRows={2} />
            {save.error && (
              <Alert color="red" role="alert" title="Not saved">
                {errorText(save.error)}
              </Alert>
            )}
            <Group>
              <Button onClick={() => save.mutate()} loading={save.isPending}>
                Save the segment
              </Button>
              <Button variant="default" onClick={() => setReviewing(false)}>
                Keep editing
              </Button>
            </Group>
          </Stack>
        </Card>
      )}
      {save.isSuccess && !current && (
        <Alert color="green" role="status">
          Saved: the segment is at version {s.version}.
        </Alert>
      )}
      <Group>
        <Button onClick={() => setReviewing(true)} disabled={instructions.length === 0}>
          Review and save ({instructions.length} change{instructions.length === 1 ? "" : "s"})
        </Button>
        <Button variant="default" onClick={() => setEdit(undefined)} disabled={!current}>
          Discard changes
        </Button>
      </Group>
    </Stack>
  );
}
