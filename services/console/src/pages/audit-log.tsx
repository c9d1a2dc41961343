/** The audit log: who changed what and why, newest first; each entry opens to show its change. */
import { Accordion, Alert, Badge, Code, Group, Stack, Text, Title } from "@mantine/core";
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { api, enc, errorText, type Page } from "../api.ts";

interface AuditEntry {
  _id: string;
  date: number;
  kind: string;
  name?: string;
  title?: string;
  description?: string;
  comment?: string;
  member?: { email?: string };
  target?: { name?: string; resources?: string[] };
  delta?: unknown;
  _previousVersionNumber?: number;
  _currentVersionNumber?: number;
}

/** An entry's change, read when the entry is opened (the list leaves it out). */
function EntryDetail({ id }: { id: string }) {
  const entry = useQuery({ queryKey: ["auditlog", id], queryFn: () => api<AuditEntry>("GET", `/api/v2/auditlog/${enc(id)}`), staleTime: Infinity });
  if (entry.error) return <Alert color="red">{errorText(entry.error)}</Alert>;
  const e = entry.data;
  if (!e) return <Text size="sm">Loading…</Text>;
  return (
    <Stack gap="xs">
      {e.description && <Text size="sm">{e.description}</Text>}
      <Text size="sm">Resource: {e.target?.resources?.join(", ")}</Text>
      {e._currentVersionNumber !== undefined && (
        <Text size="sm">
          Version {e._previousVersionNumber ?? "—"} → {e._currentVersionNumber}
        </Text>
      )}
      {e.delta !== undefined && (
        <Code block aria-label="The change">
          {JSON.stringify(e.delta, null, 2)}
        </Code>
      )}
    </Stack>
  );
}

export function AuditLogPage() {
  const [open, setOpen] = useState<string[]>([]);
  const entries = useQuery({ queryKey: ["auditlog"], queryFn: () => api<Page<AuditEntry>>("GET", "/api/v2/auditlog?limit=20") });
  return (
    <Stack>
      <Title order={1}>Audit log</Title>
      {entries.error && <Alert color="red">{errorText(entries.error)}</Alert>}
      {entries.data?.items.length === 0 && <Text c="dimmed">Nothing has changed yet.</Text>}
      <Accordion variant="separated" multiple value={open} onChange={setOpen} transitionDuration={0}>
        {entries.data?.items.map((e) => (
          <Accordion.Item key={e._id} value={e._id} data-testid="audit-entry">
            <Accordion.Control>
              <Group gap="xs">
                <Badge variant="light">{e.kind}</Badge>
                <Text size="sm" fw={600}>
                  {e.title ?? e.name}
                </Text>
                <Text size="sm" c="dimmed">
                  {new Date(e.date).toISOString().replace("T", " ").slice(0, 19)} UTC · {e.member?.email ?? "Vexil"}
                </Text>
              </Group>
              {e.comment && (
                <Text size="sm" mt={4}>
                  “{e.comment}”
                </Text>
              )}
            </Accordion.Control>
            <Accordion.Panel>{open.includes(e._id) && <EntryDetail id={e._id} />}
            </Accordion.Panel>
          </Accordion.Item>
        ))}
      </Accordion>
    </Stack>
  );
}
