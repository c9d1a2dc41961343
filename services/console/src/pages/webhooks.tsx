/**
 * Webhooks: list, create (which changes it gets, and a signing secret shown this once), turn on or
 * off, delete, and each one's delivery log with redelivery.
 */
import { Alert, Badge, Button, Card, Checkbox, Code, CopyButton, Group, Stack, Switch, Table, Text, TextInput, Title } from "@mantine/core";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { api, enc, errorText, type Page } from "../api.ts";
import { CallError, SubmitRow } from "../parts.tsx";

interface Webhook {
  _id: string;
  name?: string;
  url: string;
  on: boolean;
  tags: string[];
  secret?: string;
  _signed: boolean;
}
interface Delivery {
  _id: string;
  resource: string;
  status: string;
  createdAt: number;
  attempts: Array<{ attempt: number; date: number; latencyMs: number; statusCode?: number; error?: string }>;
}

export function WebhooksPage() {
  const client = useQueryClient();
  const hooks = useQuery({ queryKey: ["webhooks"], queryFn: () => api<Page<Webhook>>("GET", "/api/v2/webhooks") });
  const [name, setName] = useState("");
  const [url, setUrl] = useState("");
  const [sign, setSign] = useState(true);
  const [resources, setResources] = useState("");
  const [shown, setShown] = useState<string | undefined>();
  const refresh = () => void client.invalidateQueries({ queryKey: ["webhooks"] });
  const create = useMutation({
    mutationFn: () => {
      const only = resources.split(",").map((r) => r.trim()).filter((r) => r !== "");
      const statements = only.length > 0 ? [{ effect: "allow", resources: only, actions: ["*"] }] : undefined;
      return api<Webhook>("POST", "/api/v2/webhooks", { url, sign, on: true, ...(name ? { name } : {}), ...(statements ? { statements } : {}) });
    },
    onSuccess: () => {
      setName("");
      setUrl("");
      setResources("");
      refresh();
    },
  });
  const toggle = useMutation({
    mutationFn: (w: Webhook) => api("PATCH", `/api/v2/webhooks/${enc(w._id)}`, [{ op: "replace", path: "/on", value: !w.on }]),
    onSettled: refresh,
  });
  const remove = useMutation({ mutationFn: (id: string) => api("DELETE", `/api/v2/webhooks/${enc(id)}`), onSuccess: refresh });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate();
  };
  const rowError = toggle.error ?? remove.error;
  return (
    <Stack>
      <Title order={1}>Webhooks</Title>
      {hooks.error && <Alert color="red">{errorText(hooks.error)}</Alert>}
      {rowError && (
        <Alert color="red" role="alert">
          {errorText(rowError)}
        </Alert>
      )}
      <Table striped aria-label="Webhooks">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Name</Table.Th>
            <Table.Th>URL</Table.Th>
            <Table.Th>Signed</Table.Th>
            <Table.Th>On</Table.Th>
            <Table.Th>Actions</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {hooks.data?.items.map((w) => (
            <Table.Tr key={w._id}>
              <Table.Td>{w.name ?? w._id}</Table.Td>
              <Table.Td>
                <Code>{w.url}</Code>
              </Table.Td>
              <Table.Td>{w._signed ? "yes" : "no"}</Table.Td>
              <Table.Td>
                <Switch aria-label={`Webhook ${w.name ?? w._id} on`} checked={w.on} onChange={() => toggle.mutate(w)} />
              </Table.Td>
              <Table.Td>
                <Group gap="xs">
                  <Button size="compact-xs" variant="default" onClick={() => setShown(shown === w._id ? undefined : w._id)} aria-expanded={shown === w._id}>
                    Deliveries of {w.name ?? w._id}
                  </Button>
                  <Button size="compact-xs" variant="subtle" color="red" onClick={() => remove.mutate(w._id)}>
                    Delete {w.name ?? w._id}
                  </Button>
                </Group>
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {shown && hooks.data?.items.some((w) => w._id === shown) && <Deliveries id={shown} name={hooks.data.items.find((w) => w._id === shown)!.name ?? shown} />}
      <form onSubmit={submit} aria-labelledby="new-webhook">
        <Stack maw={560}>
          <Title order={2} size="h3" id="new-webhook">
            New webhook
          </Title>
          <TextInput label="Webhook name" value={name} onChange={(e) => setName(e.currentTarget.value)} />
          <TextInput label="Webhook URL" type="url" required placeholder="https://example.com/hooks/vexil" value={url} onChange={(e) => setUrl(e.currentTarget.value)} />
          <TextInput
            label="Send changes to"
            description="Resource specifiers, comma-separated (e.g. proj/shop:env/production:flag/*); empty: every change"
            value={resources}
            onChange={(e) => setResources(e.currentTarget.value)}
          />
          <Checkbox label="Sign deliveries (a new secret is generated)" checked={sign} onChange={(e) => setSign(e.currentTarget.checked)} />
          <CallError error={create.error} />
          <SubmitRow pending={create.isPending}>Create webhook</SubmitRow>
        </Stack>
      </form>
      {create.data && (
        <Alert color="green" title={`Webhook ${create.data.name ?? create.data._id} created`} role="status">
          {create.data.secret ? (
            <>
              <Text size="sm" mb="xs">
                Its signing secret is shown this once: copy it now.
              </Text>
              <Group gap="xs">
                <Code data-testid="new-webhook-secret">{create.data.secret}</Code>
                <CopyButton value={create.data.secret}>
                  {({ copied, copy }) => (
                    <Button size="compact-xs" variant="default" onClick={copy}>
                      {copied ? "Copied" : "Copy the secret"}
                    </Button>
                  )}
                </CopyButton>
              </Group>
            </>
          ) : (
            <Text size="sm">Its deliveries are not signed.</Text>
          )}
        </Alert>
      )}
    </Stack>
  );
}

function Deliveries({ id, name }: { id: string; name: string }) {
  const log = useQuery({ queryKey: ["webhook-deliveries", id], queryFn: () => api<Page<Delivery>>("GET", `/api/v2/webhooks/${enc(id)}/deliveries?limit=50`) });
  const redeliver = useMutation({
    mutationFn: (deliveryId: string) => api("POST", `/api/v2/webhooks/${enc(id)}/deliveries/${enc(deliveryId)}/redeliver`),
    onSettled: () => void log.refetch(),
  });
  return (
    <Card withBorder component="section" aria-labelledby="deliveries-title">
      <Group justify="space-between" mb="xs">
        <Title order={2} size="h4" id="deliveries-title">
          Deliveries of {name}
        </Title>
        <Button size="compact-xs" variant="default" onClick={() => void log.refetch()}>
          Refresh the deliveries
        </Button>
      </Group>
      {(log.error ?? redeliver.error) && (
        <Alert color="red" role="alert">
          {errorText(log.error ?? redeliver.error)}
        </Alert>
      )}
      {log.data?.items.length === 0 && <Text size="sm">No deliveries yet.</Text>}
      {log.data && log.data.items.length > 0 && (
        <Table aria-label={`Deliveries of ${name}`}>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>When</Table.Th>
              <Table.Th>Resource</Table.Th>
              <Table.Th>State</Table.Th>
              <Table.Th>Attempts</Table.Th>
              <Table.Th>Action</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {log.data.items.map((d) => (
              <Table.Tr key={d._id} data-testid="delivery">
                <Table.Td>{new Date(d.createdAt).toLocaleString()}</Table.Td>
                <Table.Td>
                  <Code>{d.resource}</Code>
                </Table.Td>
                <Table.Td>
                  <Badge variant="outline" color="dark">
                    {d.status}
                  </Badge>
                </Table.Td>
                <Table.Td>{d.attempts.map((a) => `#${a.attempt}: ${a.statusCode ?? a.error ?? "—"} in ${a.latencyMs} ms`).join("; ")}</Table.Td>
                <Table.Td>
                  <Button size="compact-xs" variant="default" onClick={() => redeliver.mutate(d._id)} disabled={d.status === "pending"} aria-label={`Redeliver ${d.resource} of ${new Date(d.createdAt).toLocaleString()}`}>
                    Redeliver
                  </Button>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Card>
  );
}
