/**
 * Segments of one environment: the list (with a new segment form) and a segment's page — included
 * and excluded context keys and rules (added, removed, or edited in place: clauses, share of
 * matching contexts, description) — whose edits are sent, after a preview, as one semantic patch
 * with a comment; and deleting the segment, after a confirmation that names the flags whose rules
 * refer to it in that environment.
 */
import { Alert, Anchor, Button, Card, Checkbox, Code, Fieldset, Group, List, Modal, NativeSelect, NumberInput, Stack, Table, Text, TextInput, Textarea, Title } from "@mantine/core";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { Link, useLocation, useSearchParams } from "wouter";
import { SEMANTIC_PATCH, api, enc, environmentsOf, errorText, type Clause, type Flag, type Page, type Project } from "../api.ts";
import { clauseText, type Instruction } from "../review.tsx";
import { clauseBody, clauseEdits, describeRuleEdit, draftClauseOf, listOf, newClause, type DraftClause } from "../rule-edits.ts";
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
  rules: Array<{ _id: string; clauses: Clause[]; weight?: number; bucketBy?: string; rolloutContextKind?: string; description?: string }>;
}

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

/** A rule's share of matching contexts in percent; empty: all of them. */
type Share = number | "";
interface ExistingRule {
  id: string;
  description: string;
  clauses: DraftClause[];
  weight: Share;
  contextKind: string;
}
interface Draft {
  included: string;
  excluded: string;
  /** The segment's rules, in order, as edited in place. */
  rules: ExistingRule[];
  removedRules: string[];
  newRules: Array<{ clauses: DraftClause[]; weight: Share }>;
}

const draftOf = (s: Segment): Draft => ({
  included: s.included.join(", "),
  excluded: s.excluded.join(", "),
  rules: s.rules.map((r) => ({ id: r._id, description: r.description ?? "", clauses: r.clauses.map(draftClauseOf), weight: r.weight === undefined ? "" : r.weight / 1000, contextKind: r.rolloutContextKind ?? "user" })),
  removedRules: [],
  newRules: [],
});

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
  for (const now of after.rules) {
    const was = before.rules.find((r) => r.id === now.id);
    if (!was || after.removedRules.includes(now.id)) continue;
    if (now.description !== was.description) out.push({ kind: "updateRuleDescription", ruleId: now.id, description: now.description });
    out.push(...clauseEdits(now.id, was.clauses, now.clauses));
    // No share is all of them: 100%.
    if (now.weight !== was.weight) out.push({ kind: "updateRuleRolloutAndContextKind", ruleId: now.id, weight: now.weight === "" ? 100_000 : Math.round(now.weight * 1000), contextKind: now.contextKind });
  }
  for (const r of after.newRules) out.push({ kind: "addRule", clauses: r.clauses.map(clauseBody), ...(r.weight === "" ? {} : { weight: Math.round(r.weight * 1000) }) });
  return out;
}

function describe(s: Segment, i: Instruction): string {
  const edit = describeRuleEdit(i, s.rules);
  if (edit) return edit;
  switch (i.kind) {
    case "addIncludedTargets":
      return `Include ${(i.values as string[]).join(", ")}`;
    case "removeIncludedTargets":
      return `Stop including ${(i.values as string[]).join(", ")}`;
    case "addExcludedTargets":
      return `Exclude ${(i.values as string[]).join(", ")}`;
    case "removeExcludedTargets":
      return `Stop excluding ${(i.values as string[]).join(", ")}`;
    case "removeRule": {
      const at = s.rules.findIndex((r) => r._id === i.ruleId);
      return `Remove ${at < 0 ? `the rule ${String(i.ruleId)}` : `rule ${at + 1}`}`;
    }
    case "updateRuleRolloutAndContextKind": {
      const at = s.rules.findIndex((r) => r._id === i.ruleId);
      return `Rule ${at + 1}: ${Number(i.weight) / 1000}% of the matching contexts`;
    }
    case "addRule":
      return `Add a rule: if ${(i.clauses as Clause[]).map(clauseText).join(" and ")}${i.weight !== undefined ? `, ${Number(i.weight) / 1000}% of them` : ""}`;
    default:
      return i.kind;
  }
}

interface SegmentRuleEditorProps<R extends { clauses: DraftClause[]; weight: Share; description?: string }> {
  n: number;
  legend: string;
  rule: R;
  onChange(rule: R): void;
  /** The button that ends the editor: discards a new rule, or stops editing one in place. */
  close: { label: string; onClick(): void };
}

function SegmentRuleEditor<R extends { clauses: DraftClause[]; weight: Share; description?: string }>({ n, legend, rule, onChange, close }: SegmentRuleEditorProps<R>) {
  const setClause = (k: number, c: Partial<DraftClause>) => onChange({ ...rule, clauses: rule.clauses.map((x, j) => (j === k ? { ...x, ...c } : x)) });
  return (
    <Fieldset legend={legend}>
      <Stack gap="xs">
        {rule.description !== undefined && <TextInput label={`Rule ${n} description`} value={rule.description} onChange={(e) => onChange({ ...rule, description: e.currentTarget.value })} />}
        {rule.clauses.map((c, k) => (
          <Group key={k} align="end">
            <TextInput label="Attribute" aria-label={`Rule ${n} clause ${k + 1} attribute`} value={c.attribute} onChange={(e) => setClause(k, { attribute: e.currentTarget.value })} />
            <NativeSelect label="Operator" aria-label={`Rule ${n} clause ${k + 1} operator`} value={c.op} data={OPERATORS.filter((o) => o !== "segmentMatch")} onChange={(e) => setClause(k, { op: e.currentTarget.value })} />
            <TextInput label="Values" aria-label={`Rule ${n} clause ${k + 1} values`} description="Comma-separated" w={240} value={c.values} onChange={(e) => setClause(k, { values: e.currentTarget.value })} />
            <Checkbox label="Negate" aria-label={`Rule ${n} clause ${k + 1} negate`} checked={c.negate} onChange={(e) => setClause(k, { negate: e.currentTarget.checked })} mb={8} />
            {rule.clauses.length > 1 && (
              <Button variant="subtle" color="red" size="xs" onClick={() => onChange({ ...rule, clauses: rule.clauses.filter((_, j) => j !== k) })}>
                Remove clause {k + 1} of rule {n}
              </Button>
            )}
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
          value={rule.weight}
          onChange={(v) => onChange({ ...rule, weight: v === "" ? "" : Number(v) })}
        />
        <Group>
          <Button size="xs" variant="default" onClick={() => onChange({ ...rule, clauses: [...rule.clauses, newClause()] })}>
            Add clause to rule {n}
          </Button>
          <Button size="xs" variant="subtle" color="red" onClick={close.onClick}>
            {close.label}
          </Button>
        </Group>
      </Stack>
    </Fieldset>
  );
}

const FLAGS_PAGE = 100;

/** The flags whose rules in `env` match the segment (a `segmentMatch` clause naming it), read page by page. */
async function flagsUsing(projectKey: string, env: string, segmentKey: string): Promise<Flag[]> {
  const using: Flag[] = [];
  for (let offset = 0; ; offset += FLAGS_PAGE) {
    const page = await api<Page<Flag>>("GET", `/api/v2/flags/${enc(projectKey)}?env=${enc(env)}&summary=0&limit=${FLAGS_PAGE}&offset=${offset}`);
    for (const flag of page.items) {
      const rules = flag.environments[env]?.rules ?? [];
      if (rules.some((r) => r.clauses.some((c) => c.op === "segmentMatch" && c.values.includes(segmentKey)))) using.push(flag);
    }
    if (page.items.length < FLAGS_PAGE) return using;
  }
}

/**
 * Deleting the segment, after a confirmation in a dialog that names the flags whose rules in this
 * environment match it (those clauses then match no one). A refusal is shown in the dialog.
 */
function DeleteSegment({ projectKey, env, segment, path }: { projectKey: string; env: string; segment: Segment; path: string }) {
  const client = useQueryClient();
  const [, navigate] = useLocation();
  const [opened, setOpened] = useState(false);
  const using = useQuery({ queryKey: ["segment-users", projectKey, env, segment.key], queryFn: () => flagsUsing(projectKey, env, segment.key), enabled: opened });
  const remove = useMutation({
    mutationFn: () => api("DELETE", path),
    onSuccess: () => {
      setOpened(false);
      void client.invalidateQueries({ queryKey: ["segments", projectKey, env] });
      navigate(`/projects/${projectKey}/segments?env=${env}`);
    },
  });
  return (
    <>
      <Group>
        <Button
          color="red"
          variant="outline"
          onClick={() => {
            remove.reset();
            setOpened(true);
          }}
        >
          Delete segment
        </Button>
      </Group>
      <Modal opened={opened} onClose={() => setOpened(false)} lockScroll={false} closeButtonProps={{ "aria-label": "Close without deleting" }} title={`Delete the segment ${segment.name} in ${env}?`}>
        <Stack>
          <Text size="sm">The segment and its targets and rules are deleted from {env}; the audit log keeps the record.</Text>
          {using.isPending && <Text size="sm">Looking for flags that use it…</Text>}
          {using.error && <CallError error={using.error} />}
          {using.data && using.data.length === 0 && <Text size="sm">No flag's rules in {env} match this segment.</Text>}
          {using.data && using.data.length > 0 && (
            <Alert color="yellow" title={`Used by ${using.data.length} flag(s) in ${env}`}>
              <Text size="sm">Their rules' clauses that match this segment will match no one:</Text>
              <List size="sm" data-testid="segment-used-by">
                {using.data.map((f) => (
                  <List.Item key={f.key}>
                    <Anchor component={Link} href={`/projects/${projectKey}/flags/${f.key}?env=${env}`}>
                      {f.name}
                    </Anchor>
                  </List.Item>
                ))}
              </List>
            </Alert>
          )}
          {remove.error && (
            <Alert color="red" role="alert" title="Not deleted">
              {errorText(remove.error)}
            </Alert>
          )}
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setOpened(false)}>
              Keep the segment
            </Button>
            <Button color="red" onClick={() => remove.mutate()} loading={remove.isPending}>
              Delete {segment.key}
            </Button>
          </Group>
        </Stack>
      </Modal>
    </>
  );
}

export function SegmentPage({ projectKey, segmentKey }: { projectKey: string; segmentKey: string }) {
  const client = useQueryClient();
  const { env, picker } = useEnvironment(projectKey);
  const path = `/api/v2/segments/${enc(projectKey)}/${enc(env)}/${enc(segmentKey)}`;
  const segment = useQuery({ queryKey: ["segment", projectKey, env, segmentKey], queryFn: () => api<Segment>("GET", path), enabled: env !== "" });
  const [edit, setEdit] = useState<{ env: string; base: Draft; draft: Draft } | undefined>();
  const [comment, setComment] = useState("");
  const [reviewing, setReviewing] = useState(false);
  /** The rules whose editor is open (by id). */
  const [editing, setEditing] = useState<string[]>([]);
  const instructionsFor = () => (edit && edit.env === env ? instructionsOf(edit.base, edit.draft) : []);
  const save = useMutation({
    mutationFn: () => api<Segment>("PATCH", path, { environmentKey: env, instructions: instructionsFor(), ...(comment ? { comment } : {}) }, { "content-type": SEMANTIC_PATCH }),
    onSuccess: () => {
      setEdit(undefined);
      setEditing([]);
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
            const edited = draft.rules.find((x) => x.id === r._id);
            const open = edited !== undefined && !removed && editing.includes(r._id);
            return (
              <Stack key={r._id} gap={4}>
                <Group justify="space-between" data-testid="segment-rule">
                  <Text size="sm" td={removed ? "line-through" : undefined}>
                    Rule {i + 1}
                    {r.description ? ` (${r.description})` : ""}: {r.clauses.map(clauseText).join(" and ")}
                    {r.weight !== undefined ? ` (${r.weight / 1000}% of them)` : ""}
                  </Text>
                  <Group gap="xs">
                    {edited && !removed && !open && (
                      <Button size="xs" variant="default" onClick={() => setEditing([...editing, r._id])}>
                        Edit rule {i + 1}
                      </Button>
                    )}
                    <Button size="xs" variant="subtle" color={removed ? "gray" : "red"} onClick={() => update({ removedRules: removed ? draft.removedRules.filter((x) => x !== r._id) : [...draft.removedRules, r._id] })}>
                      {removed ? `Keep rule ${i + 1}` : `Remove rule ${i + 1}`}
                    </Button>
                  </Group>
                </Group>
                {open && (
                  <SegmentRuleEditor
                    n={i + 1}
                    legend={`Edit rule ${i + 1}`}
                    rule={edited}
                    onChange={(rule) => update({ rules: draft.rules.map((x) => (x.id === rule.id ? rule : x)) })}
                    close={{ label: `Done editing rule ${i + 1}`, onClick: () => setEditing(editing.filter((x) => x !== r._id)) }}
                  />
                )}
              </Stack>
            );
          })}
          {draft.newRules.map((r, i) => {
            const n = s.rules.length + i + 1;
            return (
              <SegmentRuleEditor
                key={i}
                n={n}
                legend={`New rule ${n}`}
                rule={r}
                onChange={(rule) => setRule(i, rule)}
                close={{ label: `Discard rule ${n}`, onClick: () => update({ newRules: draft.newRules.filter((_, j) => j !== i) }) }}
              />
            );
          })}
          <Group>
            <Button size="xs" variant="default" onClick={() => update({ newRules: [...draft.newRules, { clauses: [newClause()], weight: "" }] })}>
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
                <List.Item key={n}>{describe(s, i)}</List.Item>
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
        <Button
          variant="default"
          onClick={() => {
            setEdit(undefined);
            setEditing([]);
          }}
          disabled={!current}
        >
          Discard changes
        </Button>
      </Group>
      <DeleteSegment projectKey={projectKey} env={env} segment={s} path={path} />
    </Stack>
  );
}
