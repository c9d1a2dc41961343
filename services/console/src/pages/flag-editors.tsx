/**
 * The flag page's editors beyond targeting rules: the flag's settings (name, description, tags) and
 * variations (names, a new one), targets of other context kinds, and prerequisites. Each edits part
 * of the page's draft; the page turns the draft's difference into instructions.
 */
import { Button, Card, Code, Group, NativeSelect, Stack, Text, TextInput, Title } from "@mantine/core";
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { api, enc, type Flag, type Page } from "../api.ts";

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
