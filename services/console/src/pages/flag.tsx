/**
 * A flag in one environment: its settings and variations; targeting on or off, individual targets
 * (users and other context kinds), prerequisites, rules (a clause editor and a variation or
 * percentage rollout each; a rule is added, removed, or edited in place: its clauses, what it
 * serves, its description), the default rule and the off variation. Edits stay a draft until
 * "Review and save", which turns the difference into semantic patch instructions.
 */
import { Alert, Anchor, Badge, Button, Card, Checkbox, Code, Fieldset, Group, NativeSelect, NumberInput, Stack, Switch, Text, TextInput, Title } from "@mantine/core";
import { useQuery } from "@tanstack/react-query";
import { useEffect, useMemo, useRef, useState } from "react";
import { Link, useSearchParams } from "wouter";
import { api, enc, environmentsOf, errorText, type Flag, type FlagEnvironment, type Project, type Rollout, type Rule } from "../api.ts";
import { ReviewChange, clauseText, type Instruction } from "../review.tsx";
import { clauseBody, clauseEdits, draftClauseOf, listOf, newClause, type DraftClause } from "../rule-edits.ts";
import { ContextTargetsEditor, ExpiringTargetsCard, PrerequisitesEditor, SettingsEditor, type ContextTargetDraft, type PrerequisiteDraft, type SettingsDraft } from "./flag-editors.tsx";

export const OPERATORS = [
  "in",
  "endsWith",
  "startsWith",
  "matches",
  "contains",
  "lessThan",
  "lessThanOrEqual",
  "greaterThan",
  "greaterThanOrEqual",
  "before",
  "after",
  "segmentMatch",
  "semVerEqual",
  "semVerLessThan",
  "semVerGreaterThan",
];

/** What a rule or the default rule serves: a variation, or percentages of each. */
interface Serve {
  kind: "variation" | "rollout";
  variation: number;
  /** Percent per variation index. */
  weights: number[];
  bucketBy: string;
}
interface DraftRule {
  clauses: DraftClause[];
  serve: Serve;
}
/** A rule the environment has, as the form edits it in place. */
interface ExistingRule extends DraftRule {
  id: string;
  description: string;
}
interface Draft {
  settings: SettingsDraft;
  /** Targets of context kinds other than `user`, one entry per kind and variation. */
  contextTargets: ContextTargetDraft[];
  removedPrereqs: string[];
  newPrereqs: PrerequisiteDraft[];
  on: boolean;
  /** Per variation, comma-separated context keys as typed. */
  targets: string[];
  /** The environment's rules, in order, as edited. */
  rules: ExistingRule[];
  removedRules: string[];
  newRules: DraftRule[];
  fallthrough: Serve;
  offVariation: number;
}

const serveOf = (flag: Flag, s: { variation?: number; rollout?: Rollout } | undefined): Serve => {
  const weights = flag.variations.map((_, i) => (s?.rollout?.variations.find((w) => w.variation === i)?.weight ?? 0) / 1000);
  return s?.rollout ? { kind: "rollout", variation: 0, weights, bucketBy: s.rollout.bucketBy ?? "" } : { kind: "variation", variation: s?.variation ?? 0, weights, bucketBy: "" };
};

const draftOf = (flag: Flag, env: FlagEnvironment): Draft => ({
  settings: {
    name: flag.name,
    description: flag.description ?? "",
    tags: flag.tags.join(", "),
    variationNames: flag.variations.map((v) => v.name ?? ""),
    newVariationValue: "",
    newVariationName: "",
  },
  contextTargets: (env.contextTargets ?? []).filter((t) => (t.contextKind ?? "user") !== "user").map((t) => ({ kind: t.contextKind!, variation: t.variation, values: t.values.join(", ") })),
  removedPrereqs: [],
  newPrereqs: [],
  on: env.on,
  targets: flag.variations.map((_, i) => (env.targets ?? []).filter((t) => t.variation === i).flatMap((t) => t.values).join(", ")),
  rules: (env.rules ?? []).filter((r) => r._id !== undefined).map((r) => ({ id: r._id!, description: r.description ?? "", clauses: r.clauses.map(draftClauseOf), serve: serveOf(flag, r) })),
  removedRules: [],
  newRules: [],
  fallthrough: serveOf(flag, env.fallthrough),
  offVariation: env.offVariation ?? flag.variations.length - 1,
});

const serveParams = (flag: Flag, s: Serve): Record<string, unknown> => {
  if (s.kind === "variation") return { variationId: flag.variations[s.variation]!._id };
  const rolloutWeights = Object.fromEntries(flag.variations.map((v, i) => [v._id, Math.round((s.weights[i] ?? 0) * 1000)]));
  return s.bucketBy ? { rolloutWeights, rolloutBucketBy: s.bucketBy } : { rolloutWeights };
};

const sameServe = (a: Serve, b: Serve) => a.kind === b.kind && (a.kind === "variation" ? a.variation === b.variation : a.bucketBy === b.bucketBy && a.weights.every((w, i) => w === b.weights[i]));

/** The draft's difference from the environment, as instructions. */
/** A typed value: JSON when it parses, else the text. */
const valueOf = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
};

export function instructionsOf(flag: Flag, before: Draft, after: Draft): Instruction[] {
  const out: Instruction[] = [];
  const [was, now] = [before.settings, after.settings];
  if (now.name !== was.name) out.push({ kind: "updateName", value: now.name });
  if (now.description !== was.description) out.push({ kind: "updateDescription", value: now.description });
  const [tagsWas, tagsNow] = [new Set(listOf(was.tags)), new Set(listOf(now.tags))];
  const tagsAdded = [...tagsNow].filter((t) => !tagsWas.has(t));
  const tagsRemoved = [...tagsWas].filter((t) => !tagsNow.has(t));
  if (tagsAdded.length > 0) out.push({ kind: "addTags", values: tagsAdded });
  if (tagsRemoved.length > 0) out.push({ kind: "removeTags", values: tagsRemoved });
  flag.variations.forEach((v, i) => {
    if ((now.variationNames[i] ?? "") !== (was.variationNames[i] ?? "")) out.push({ kind: "updateVariation", variationId: v._id, name: now.variationNames[i] ?? "" });
  });
  if (now.newVariationValue.trim() !== "") out.push({ kind: "addVariation", value: valueOf(now.newVariationValue.trim()), ...(now.newVariationName ? { name: now.newVariationName } : {}) });
  for (const key of after.removedPrereqs) out.push({ kind: "removePrerequisite", key });
  for (const p of after.newPrereqs) out.push({ kind: "addPrerequisite", key: p.key, variationId: p.variationId });
  if (before.on !== after.on) out.push({ kind: after.on ? "turnFlagOn" : "turnFlagOff" });
  flag.variations.forEach((v, i) => {
    const was = new Set(listOf(before.targets[i] ?? ""));
    const now = new Set(listOf(after.targets[i] ?? ""));
    const added = [...now].filter((x) => !was.has(x));
    const removed = [...was].filter((x) => !now.has(x));
    if (removed.length > 0) out.push({ kind: "removeTargets", contextKind: "user", variationId: v._id, values: removed });
    if (added.length > 0) out.push({ kind: "addTargets", contextKind: "user", variationId: v._id, values: added });
  });
  for (const t of after.contextTargets) {
    const prior = new Set(listOf(before.contextTargets.find((b) => b.kind === t.kind && b.variation === t.variation)?.values ?? ""));
    const next = new Set(listOf(t.values));
    const removed = [...prior].filter((x) => !next.has(x));
    const added = [...next].filter((x) => !prior.has(x));
    const variationId = flag.variations[t.variation]!._id;
    if (removed.length > 0) out.push({ kind: "removeTargets", contextKind: t.kind, variationId, values: removed });
    if (added.length > 0) out.push({ kind: "addTargets", contextKind: t.kind, variationId, values: added });
  }
  for (const ruleId of after.removedRules) out.push({ kind: "removeRule", ruleId });
  out.push(...ruleEditsOf(flag, before, after));
  for (const r of after.newRules) out.push({ kind: "addRule", clauses: r.clauses.map(clauseBody), ...serveParams(flag, r.serve) });
  if (!sameServe(before.fallthrough, after.fallthrough)) out.push({ kind: "updateFallthroughVariationOrRollout", ...serveParams(flag, after.fallthrough) });
  if (before.offVariation !== after.offVariation) out.push({ kind: "updateOffVariation", variationId: flag.variations[after.offVariation]!._id });
  return out;
}

/** The edits of the rules kept, each rule's in the order description, clauses, what it serves. */
function ruleEditsOf(flag: Flag, before: Draft, after: Draft): Instruction[] {
  const out: Instruction[] = [];
  for (const now of after.rules) {
    const was = before.rules.find((r) => r.id === now.id);
    if (!was || after.removedRules.includes(now.id)) continue;
    if (now.description !== was.description) out.push({ kind: "updateRuleDescription", ruleId: now.id, description: now.description });
    out.push(...clauseEdits(now.id, was.clauses, now.clauses));
    if (!sameServe(was.serve, now.serve)) out.push({ kind: "updateRuleVariationOrRollout", ruleId: now.id, ...serveParams(flag, now.serve) });
  }
  return out;
}

const variationName = (flag: Flag, i: number | undefined) => {
  const v = i === undefined ? undefined : flag.variations[i];
  return v ? (v.name ?? JSON.stringify(v.value)) : "—";
};

const ruleServeText = (flag: Flag, r: Rule) =>
  r.rollout ? `${r.rollout.variations.map((w) => `${w.weight / 1000}% ${variationName(flag, w.variation)}`).join(" / ")}${r.rollout.bucketBy ? ` by ${r.rollout.bucketBy}` : ""}` : variationName(flag, r.variation);

function ServeEditor({ flag, label, value, onChange }: { flag: Flag; label: string; value: Serve; onChange(s: Serve): void }) {
  const total = value.weights.reduce((s, w) => s + w, 0);
  return (
    <Stack gap="xs">
      <NativeSelect
        label={label}
        value={value.kind === "rollout" ? "rollout" : String(value.variation)}
        data={[...flag.variations.map((_, i) => ({ value: String(i), label: variationName(flag, i) })), { value: "rollout", label: "A percentage rollout" }]}
        onChange={(e) => {
          const v = e.currentTarget.value;
          onChange(v === "rollout" ? { ...value, kind: "rollout" } : { ...value, kind: "variation", variation: Number(v) });
        }}
      />
      {value.kind === "rollout" && (
        <Group align="end">
          {flag.variations.map((_, i) => (
            <NumberInput
              key={i}
              w={140}
              label={`${label}: % ${variationName(flag, i)}`}
              min={0}
              max={100}
              decimalScale={3}
              hideControls
              value={value.weights[i] ?? 0}
              onChange={(n) => onChange({ ...value, weights: value.weights.map((w, j) => (j === i ? Number(n) || 0 : w)) })}
            />
          ))}
          <TextInput label={`${label}: bucket by`} placeholder="key" value={value.bucketBy} onChange={(e) => onChange({ ...value, bucketBy: e.currentTarget.value })} />
          <Text size="sm" c={total === 100 ? "dimmed" : "red"}>
            Total {total}%
          </Text>
        </Group>
      )}
    </Stack>
  );
}

interface RuleEditorProps<R extends DraftRule> {
  flag: Flag;
  n: number;
  legend: string;
  rule: R;
  onChange(r: R): void;
  /** The button that ends the editor: discards a new rule, or stops editing one in place. */
  close: { label: string; onClick(): void };
}

function RuleEditor<R extends DraftRule & { description?: string }>({ flag, n, legend, rule, onChange, close }: RuleEditorProps<R>) {
  const setClause = (i: number, c: Partial<DraftClause>) => onChange({ ...rule, clauses: rule.clauses.map((x, j) => (j === i ? { ...x, ...c } : x)) });
  return (
    <Fieldset legend={legend}>
      <Stack gap="xs">
        {rule.description !== undefined && (
          <TextInput label={`Rule ${n} description`} value={rule.description} onChange={(e) => onChange({ ...rule, description: e.currentTarget.value })} />
        )}
        {rule.clauses.map((c, i) => (
          <Group key={i} align="end">
            <TextInput label="Attribute" aria-label={`Rule ${n} clause ${i + 1} attribute`} value={c.attribute} onChange={(e) => setClause(i, { attribute: e.currentTarget.value })} />
            <NativeSelect label="Operator" aria-label={`Rule ${n} clause ${i + 1} operator`} value={c.op} data={OPERATORS} onChange={(e) => setClause(i, { op: e.currentTarget.value })} />
            <TextInput label="Values" aria-label={`Rule ${n} clause ${i + 1} values`} description="Comma-separated" value={c.values} onChange={(e) => setClause(i, { values: e.currentTarget.value })} w={260} />
            <Checkbox label="Negate" aria-label={`Rule ${n} clause ${i + 1} negate`} checked={c.negate} onChange={(e) => setClause(i, { negate: e.currentTarget.checked })} mb={8} />
            {rule.clauses.length > 1 && (
              <Button variant="subtle" color="red" size="xs" onClick={() => onChange({ ...rule, clauses: rule.clauses.filter((_, j) => j !== i) })}>
                Remove clause {i + 1} of rule {n}
              </Button>
            )}
          </Group>
        ))}
        <Group>
          <Button variant="default" size="xs" onClick={() => onChange({ ...rule, clauses: [...rule.clauses, newClause()] })}>
            Add clause to rule {n}
          </Button>
          <Button variant="subtle" color="red" size="xs" onClick={close.onClick}>
            {close.label}
          </Button>
        </Group>
        <ServeEditor flag={flag} label={`Rule ${n} serves`} value={rule.serve} onChange={(serve) => onChange({ ...rule, serve })} />
      </Stack>
    </Fieldset>
  );
}

export function FlagPage({ projectKey, flagKey }: { projectKey: string; flagKey: string }) {
  const project = useQuery({ queryKey: ["project", projectKey], queryFn: () => api<Project>("GET", `/api/v2/projects/${enc(projectKey)}?expand=environments`) });
  const envs = project.data ? environmentsOf(project.data) : [];
  const [params, setParams] = useSearchParams();
  const env = params.get("env") ?? envs.find((e) => e.key === "production")?.key ?? envs[0]?.key ?? "";
  const flag = useQuery({
    queryKey: ["flag", projectKey, flagKey, env],
    queryFn: () => api<Flag>("GET", `/api/v2/flags/${enc(projectKey)}/${enc(flagKey)}?env=${enc(env)}&summary=0`),
    enabled: env !== "",
  });
  const config = flag.data?.environments[env];
  const original = useMemo(() => (flag.data && config ? draftOf(flag.data, config) : undefined), [flag.data, config]);
  // Edits are a draft over the version they started from: the change sent is the difference from
  // that version, applied (If-Match) to it, so a newer version elsewhere is a 409, never overwritten.
  const [edit, setEdit] = useState<{ env: string; base: Draft; version: number; draft: Draft } | undefined>();
  const [reviewing, setReviewing] = useState(false);
  const [saved, setSaved] = useState(false);
  /** The rules whose editor is open (by id); closing one keeps its edits in the draft. */
  const [editing, setEditing] = useState<string[]>([]);
  // After a save the button that opened the review is disabled (nothing left to save): focus goes to the outcome.
  const savedNotice = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (saved) savedNotice.current?.focus();
  }, [saved]);
  if (flag.error) return <Alert color="red">{errorText(flag.error)}</Alert>;
  if (!flag.data || !config || !original) return <Text>Loading…</Text>;
  const f = flag.data;
  const current = edit && edit.env === env ? edit : undefined;
  const draft = current?.draft ?? original;
  const instructions = current ? instructionsOf(f, current.base, current.draft) : [];
  const update = (d: Partial<Draft>) => {
    setSaved(false);
    setEdit({ env, base: current?.base ?? original, version: current?.version ?? f._version, draft: { ...draft, ...d } });
  };
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={1}>{f.name}</Title>
        <Anchor component={Link} href={`/projects/${projectKey}?env=${env}`}>
          All flags of {project.data?.name ?? projectKey}
        </Anchor>
      </Group>
      <Group>
        <Code>{f.key}</Code>
        <Badge variant="light">version {f._version}</Badge>
        {f.tags.map((t) => (
          <Badge key={t} variant="outline">
            {t}
          </Badge>
        ))}
      </Group>
      <SettingsEditor flag={f} value={draft.settings} onChange={(d) => update({ settings: { ...draft.settings, ...d } })} />
      <Group align="end">
        <NativeSelect label="Environment" w={240} value={env} data={envs.map((e) => ({ value: e.key, label: e.name }))} onChange={(e) => setParams({ env: e.currentTarget.value })} />
        <Anchor component={Link} href={`/projects/${projectKey}/flags/${flagKey}/approvals?env=${env}`}>
          Approval requests in {env}
        </Anchor>
        <Anchor component={Link} href={`/projects/${projectKey}/flags/${flagKey}/scheduled?env=${env}`}>
          Scheduled changes in {env}
        </Anchor>
        <Anchor component={Link} href={`/projects/${projectKey}/flags/${flagKey}/deliveries?env=${env}`}>
          Delivery to SDKs in {env}
        </Anchor>
      </Group>
      <Switch label={`Targeting ${draft.on ? "on" : "off"} in ${env}`} checked={draft.on} onChange={(e) => update({ on: e.currentTarget.checked })} size="md" />
      <Card withBorder>
        <Title order={2} size="h4" mb="xs">
          Individual targets
        </Title>
        <Group align="start">
          {f.variations.map((_, i) => (
            <TextInput
              key={i}
              w={300}
              label={`Serve ${variationName(f, i)} to`}
              description="Context keys, comma-separated"
              value={draft.targets[i] ?? ""}
              onChange={(e) => {
                const text = e.currentTarget.value;
                update({ targets: draft.targets.map((t, j) => (j === i ? text : t)) });
              }}
            />
          ))}
        </Group>
      </Card>
      <ContextTargetsEditor flag={f} value={draft.contextTargets} onChange={(contextTargets) => update({ contextTargets })} />
      <ExpiringTargetsCard projectKey={projectKey} flag={f} environmentKey={env} config={config} />
      <PrerequisitesEditor
        projectKey={projectKey}
        flag={f}
        current={config.prerequisites ?? []}
        removed={draft.removedPrereqs}
        added={draft.newPrereqs}
        onChange={(d) => update(d)}
      />
      <Card withBorder>
        <Title order={2} size="h4" mb="xs">
          Rules
        </Title>
        <Stack gap="xs">
          {(config.rules ?? []).map((r, i) => {
            const removed = r._id !== undefined && draft.removedRules.includes(r._id);
            const edited = draft.rules.find((x) => x.id === r._id);
            const open = edited !== undefined && !removed && editing.includes(edited.id);
            return (
              <Stack key={r._id ?? i} gap={4}>
                <Group justify="space-between" data-testid="rule">
                  <Text size="sm" td={removed ? "line-through" : undefined}>
                    Rule {i + 1}
                    {r.description ? ` (${r.description})` : ""}: if {r.clauses.map(clauseText).join(" and ")}, serve {ruleServeText(f, r)}
                  </Text>
                  <Group gap="xs">
                    {edited && !removed && !open && (
                      <Button size="xs" variant="default" onClick={() => setEditing([...editing, edited.id])}>
                        Edit rule {i + 1}
                      </Button>
                    )}
                    <Button
                      size="xs"
                      variant="subtle"
                      color={removed ? "gray" : "red"}
                      onClick={() => update({ removedRules: removed ? draft.removedRules.filter((x) => x !== r._id) : [...draft.removedRules, r._id!] })}
                    >
                      {removed ? `Keep rule ${i + 1}` : `Remove rule ${i + 1}`}
                    </Button>
                  </Group>
                </Group>
                {open && (
                  <RuleEditor
                    flag={f}
                    n={i + 1}
                    legend={`Edit rule ${i + 1}`}
                    rule={edited}
                    onChange={(rule) => update({ rules: draft.rules.map((x) => (x.id === rule.id ? rule : x)) })}
                    close={{ label: `Done editing rule ${i + 1}`, onClick: () => setEditing(editing.filter((x) => x !== edited.id)) }}
                  />
                )}
              </Stack>
            );
          })}
          {draft.newRules.map((r, i) => {
            const n = (config.rules?.length ?? 0) + i + 1;
            return (
              <RuleEditor
                key={i}
                flag={f}
                n={n}
                legend={`New rule ${n}`}
                rule={r}
                onChange={(rule) => update({ newRules: draft.newRules.map((x, j) => (j === i ? rule : x)) })}
                close={{ label: `Discard rule ${n}`, onClick: () => update({ newRules: draft.newRules.filter((_, j) => j !== i) }) }}
              />
            );
          })}
          <Group>
            <Button
              variant="default"
              size="xs"
              onClick={() =>
                update({ newRules: [...draft.newRules, { clauses: [newClause()], serve: { kind: "variation", variation: 0, weights: f.variations.map(() => 0), bucketBy: "" } }] })
              }
            >
              Add rule
            </Button>
          </Group>
        </Stack>
      </Card>
      <Card withBorder>
        <Title order={2} size="h4" mb="xs">
          Default rule and off variation
        </Title>
        <Stack>
          <ServeEditor flag={f} label="Default rule serves" value={draft.fallthrough} onChange={(fallthrough) => update({ fallthrough })} />
          <NativeSelect
            label="When targeting is off, serve"
            w={240}
            value={String(draft.offVariation)}
            data={f.variations.map((_, i) => ({ value: String(i), label: variationName(f, i) }))}
            onChange={(e) => update({ offVariation: Number(e.currentTarget.value) })}
          />
        </Stack>
      </Card>
      {saved && (
        <Alert color="green" role="status" ref={savedNotice} tabIndex={-1}>
          Saved: the flag is at version {f._version}.
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
      <ReviewChange
        projectKey={projectKey}
        flag={{ ...f, _version: current?.version ?? f._version }}
        environmentKey={env}
        instructions={instructions}
        opened={reviewing}
        onClose={() => setReviewing(false)}
        onSaved={() => {
          setReviewing(false);
          setSaved(true);
          setEdit(undefined);
          setEditing([]);
        }}
      />
    </Stack>
  );
}
