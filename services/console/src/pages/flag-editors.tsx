/**
 * The flag page's editors beyond targeting rules: the flag's settings (name, description, tags) and
 * variations (names, a new one), targets of other context kinds, and prerequisites. Each edits part
 * of the page's draft; the page turns the draft's difference into instructions. Expiring targets are
 * their own resource: a removal date is set or cancelled at once.
 */
import { Alert, Button, Card, Code, Group, NativeSelect, Stack, Table, Text, TextInput, Title } from "@mantine/core";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { SEMANTIC_PATCH, api, enc, errorText, type Flag, type FlagEnvironment, type Page } from "../api.ts";

export interface SettingsDraft {
  name: string;
  description: string;
  /** Comma-separated, as typed. */
  tags: string;
  variationNames: string[];
  /** A new variation's value as typed (JSON, else a string); empty: none. */
  newVariationValue: string;
  newVariationName: string;
}
export interface ContextTargetDraft {
  kind: string;
  variation: number;
  /** Comma-separated, as typed. */
  values: string;
}
export interface PrerequisiteDraft {
  key: string;
  variationId: string;
}

const variationName = (flag: Pick<Flag, "variations">, i: number) => {
  const v = flag.variations[i];
  return v ? (v.name ?? JSON.stringify(v.value)) : "—";
};

export function SettingsEditor({ flag, value, onChange }: { flag: Flag; value: SettingsDraft; onChange(d: Partial<SettingsDraft>): void }) {
  return (
    <Card withBorder>
      <Title order={2} size="h4" mb="xs">
        Settings and variations
      </Title>
      <Stack gap="xs">
        <Group align="start">
          <TextInput w={280} label="Name" value={value.name} onChange={(e) => onChange({ name: e.currentTarget.value })} />
          <TextInput w={360} label="Description" value={value.description} onChange={(e) => onChange({ description: e.currentTarget.value })} />
          <TextInput w={280} label="Tags" description="Comma-separated" value={value.tags} onChange={(e) => onChange({ tags: e.currentTarget.value })} />
        </Group>
        <Group align="start">
          {flag.variations.map((v, i) => (
            <TextInput
              key={v._id}
              w={220}
              label={`Name of variation ${i + 1}`}
              description={<Code>{JSON.stringify(v.value)}</Code>}
              value={value.variationNames[i] ?? ""}
              onChange={(e) => {
                const text = e.currentTarget.value;
                onChange({ variationNames: value.variationNames.map((n, j) => (j === i ? text : n)) });
              }}
            />
          ))}
        </Group>
        <Group align="start">
          <TextInput w={220} label="New variation value" description="JSON, or text" value={value.newVariationValue} onChange={(e) => onChange({ newVariationValue: e.currentTarget.value })} />
          <TextInput w={220} label="New variation name" value={value.newVariationName} onChange={(e) => onChange({ newVariationName: e.currentTarget.value })} />
        </Group>
      </Stack>
    </Card>
  );
}

export function ContextTargetsEditor({ flag, value, onChange }: { flag: Flag; value: ContextTargetDraft[]; onChange(d: ContextTargetDraft[]): void }) {
  const [kind, setKind] = useState("");
  const set = (i: number, d: Partial<ContextTargetDraft>) => onChange(value.map((x, j) => (j === i ? { ...x, ...d } : x)));
  return (
    <Card withBorder>
      <Title order={2} size="h4" mb="xs">
        Targets of other context kinds
      </Title>
      <Stack gap="xs">
        {value.length === 0 && <Text size="sm">None.</Text>}
        {value.map((t, i) => (
          <TextInput
            key={`${t.kind}-${t.variation}`}
            w={420}
            label={`Serve ${variationName(flag, t.variation)} to ${t.kind} keys`}
            description="Comma-separated"
            value={t.values}
            onChange={(e) => set(i, { values: e.currentTarget.value })}
          />
        ))}
        <Group align="end">
          <TextInput w={200} label="Context kind" placeholder="organization" value={kind} onChange={(e) => setKind(e.currentTarget.value)} />
          {flag.variations.map((_, i) => (
            <Button
              key={i}
              size="xs"
              variant="default"
              disabled={kind.trim() === "" || kind.trim() === "user" || value.some((t) => t.kind === kind.trim() && t.variation === i)}
              onClick={() => {
                onChange([...value, { kind: kind.trim(), variation: i, values: "" }]);
                setKind("");
              }}
            >
              Target {kind.trim() || "a kind"} with {variationName(flag, i)}
            </Button>
          ))}
        </Group>
      </Stack>
    </Card>
  );
}

export function PrerequisitesEditor({
  projectKey,
  flag,
  current,
  removed,
  added,
  onChange,
}: {
  projectKey: string;
  flag: Flag;
  current: Array<{ key: string; variation: number }>;
  removed: string[];
  added: PrerequisiteDraft[];
  onChange(d: { removedPrereqs?: string[]; newPrereqs?: PrerequisiteDraft[] }): void;
}) {
  const flags = useQuery({ queryKey: ["flag-choices", projectKey], queryFn: () => api<Page<Flag>>("GET", `/api/v2/flags/${enc(projectKey)}?limit=100&summary=0`) });
  const others = (flags.data?.items ?? []).filter((f) => f.key !== flag.key);
  const [key, setKey] = useState("");
  const chosen = others.find((f) => f.key === key);
  const [variationId, setVariationId] = useState("");
  const taken = new Set([...current.map((p) => p.key), ...added.map((p) => p.key)]);
  return (
    <Card withBorder>
      <Title order={2} size="h4" mb="xs">
        Prerequisites
      </Title>
      <Stack gap="xs">
        {current.length === 0 && added.length === 0 && <Text size="sm">None: the flag does not depend on another.</Text>}
        {current.map((p) => {
          const gone = removed.includes(p.key);
          const other = others.find((f) => f.key === p.key);
          return (
            <Group key={p.key} justify="space-between" data-testid="prerequisite">
              <Text size="sm" td={gone ? "line-through" : undefined}>
                {p.key} must serve {other ? variationName(other, p.variation) : `variation ${p.variation + 1}`}
              </Text>
              <Button size="xs" variant="subtle" color={gone ? "gray" : "red"} onClick={() => onChange({ removedPrereqs: gone ? removed.filter((k) => k !== p.key) : [...removed, p.key] })}>
                {gone ? `Keep prerequisite ${p.key}` : `Remove prerequisite ${p.key}`}
              </Button>
            </Group>
          );
        })}
        {added.map((p) => {
          const other = others.find((f) => f.key === p.key);
          const i = other?.variations.findIndex((v) => v._id === p.variationId) ?? -1;
          return (
            <Group key={p.key} justify="space-between" data-testid="prerequisite">
              <Text size="sm">
                New: {p.key} must serve {other && i >= 0 ? variationName(other, i) : p.variationId}
              </Text>
              <Button size="xs" variant="subtle" color="red" onClick={() => onChange({ newPrereqs: added.filter((x) => x.key !== p.key) })}>
                Discard prerequisite {p.key}
              </Button>
            </Group>
          );
        })}
        <Group align="end">
          <NativeSelect
            w={240}
            label="Prerequisite flag"
            value={key}
            data={[{ value: "", label: "Choose a flag" }, ...others.filter((f) => !taken.has(f.key)).map((f) => ({ value: f.key, label: f.name }))]}
            onChange={(e) => {
              const k = e.currentTarget.value;
              setKey(k);
              setVariationId(others.find((f) => f.key === k)?.variations[0]?._id ?? "");
            }}
          />
          <NativeSelect
            w={200}
            label="Must serve"
            value={variationId}
            disabled={!chosen}
            data={(chosen?.variations ?? []).map((v, i) => ({ value: v._id, label: variationName(chosen!, i) }))}
            onChange={(e) => setVariationId(e.currentTarget.value)}
          />
          <Button
            size="xs"
            variant="default"
            disabled={!chosen || variationId === ""}
            onClick={() => {
              onChange({ newPrereqs: [...added, { key, variationId }] });
              setKey("");
              setVariationId("");
            }}
          >
            Add prerequisite
          </Button>
        </Group>
      </Stack>
    </Card>
  );
}

interface ExpiringTarget {
  _id: string;
  contextKind: string;
  contextKey: string;
  variationId?: string;
  expirationDate: number;
}
interface ExpiringAnswer extends Page<ExpiringTarget> {
  errors?: Array<{ instructionIndex: number; message: string }>;
}

/** Removal dates of the individually targeted contexts of a flag in one environment. */
export function ExpiringTargetsCard({ projectKey, flag, environmentKey, config }: { projectKey: string; flag: Flag; environmentKey: string; config: FlagEnvironment }) {
  const client = useQueryClient();
  const path = `/api/v2/flags/${enc(projectKey)}/${enc(flag.key)}/expiring-targets/${enc(environmentKey)}`;
  const key = ["expiring", projectKey, flag.key, environmentKey];
  const list = useQuery({ queryKey: key, queryFn: () => api<ExpiringAnswer>("GET", path) });
  const targeted = [...(config.targets ?? []), ...(config.contextTargets ?? []).filter((t) => (t.contextKind ?? "user") !== "user")].flatMap((t) =>
    t.values.map((v) => ({ kind: t.contextKind ?? "user", key: v, variation: t.variation })),
  );
  const [choice, setChoice] = useState("");
  const [when, setWhen] = useState("");
  const patch = useMutation({
    mutationFn: (instruction: Record<string, unknown>) => api<ExpiringAnswer>("PATCH", path, { instructions: [instruction] }, { "content-type": SEMANTIC_PATCH }),
    onSuccess: (answer) => {
      if ((answer.errors ?? []).length === 0) {
        setChoice("");
        setWhen("");
      }
      client.setQueryData(key, answer);
    },
  });
  const chosen = targeted.find((t) => `${t.kind}:${t.key}` === choice);
  const failures = patch.data?.errors ?? [];
  const variationOf = (id?: string) => {
    const i = flag.variations.findIndex((v) => v._id === id);
    return i >= 0 ? variationName(flag, i) : "—";
  };
  return (
    <Card withBorder>
      <Title order={2} size="h4" mb="xs">
        Expiring targets
      </Title>
      <Stack gap="xs">
        {list.error && <Alert color="red">{errorText(list.error)}</Alert>}
        {list.data?.items.length === 0 && <Text size="sm">No target has a removal date in {environmentKey}.</Text>}
        {list.data && list.data.items.length > 0 && (
          <Table aria-label="Expiring targets">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Context</Table.Th>
                <Table.Th>Served</Table.Th>
                <Table.Th>Removed at</Table.Th>
                <Table.Th>Action</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {list.data.items.map((t) => (
                <Table.Tr key={t._id} data-testid="expiring-target">
                  <Table.Td>
                    {t.contextKind} <Code>{t.contextKey}</Code>
                  </Table.Td>
                  <Table.Td>{variationOf(t.variationId)}</Table.Td>
                  <Table.Td>{new Date(t.expirationDate).toLocaleString()}</Table.Td>
                  <Table.Td>
                    <Button
                      size="compact-xs"
                      variant="subtle"
                      color="red"
                      onClick={() => patch.mutate({ kind: "removeExpiringTarget", contextKind: t.contextKind, contextKey: t.contextKey, variationId: t.variationId })}
                    >
                      Cancel the removal of {t.contextKey}
                    </Button>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        )}
        <Group align="end">
          <NativeSelect
            w={260}
            label="Targeted context"
            value={choice}
            data={[{ value: "", label: targeted.length === 0 ? "No context is targeted" : "Choose a context" }, ...targeted.map((t) => ({ value: `${t.kind}:${t.key}`, label: `${t.kind} ${t.key} (${variationName(flag, t.variation)})` }))]}
            onChange={(e) => setChoice(e.currentTarget.value)}
          />
          <TextInput type="datetime-local" label="Remove it at" value={when} onChange={(e) => setWhen(e.currentTarget.value)} />
          <Button
            size="xs"
            variant="default"
            disabled={!chosen || when === ""}
            loading={patch.isPending}
            onClick={() =>
              chosen &&
              patch.mutate({ kind: "addExpiringTarget", contextKind: chosen.kind, contextKey: chosen.key, variationId: flag.variations[chosen.variation]!._id, value: new Date(when).getTime() })
            }
          >
            Set the removal date
          </Button>
        </Group>
        {(patch.error || failures.length > 0) && (
          <Alert color="red" role="alert">
            {patch.error ? errorText(patch.error) : failures.map((f) => f.message).join("; ")}
          </Alert>
        )}
      </Stack>
    </Card>
  );
}
