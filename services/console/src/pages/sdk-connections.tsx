/**
 * The SDKs connected to one environment now: open streams and recently polling SDKs, per streaming
 * instance and SDK, as `GET …/environments/{key}/sdk-connections` gathers them. Asked again every
 * five seconds while the page is open (connections come and go without any change to announce).
 */
import { Alert, Anchor, Button, Code, Group, Paper, Stack, Table, Text, Title } from "@mantine/core";
import { useQuery } from "@tanstack/react-query";
import { Link } from "wouter";
import { api, enc, errorText, type Project } from "../api.ts";

interface Identity {
  name: string;
  version: string | null;
}

interface ConnectionGroup {
  instance: string;
  kind: string;
  sdk: Identity;
  wrapper: Identity | null;
  count: number;
  connectedSince: number;
  lastEventSeq: number;
  lastSeen: number;
}

interface SdkConnections {
  items: ConnectionGroup[];
  totals: { streams: number; serverStreams: number; clientStreams: number; mobileStreams: number; pollingRequests: number; sdks: number };
  instancesAnswered: number;
  instances: Array<{ instance: string; environmentSeq: number | null; streams: number }>;
  pollingWindowMs: number | null;
}

const REFRESH_MS = 5_000;

const KIND_LABELS: Record<string, string> = {
  "server-stream": "Server-side stream",
  "client-stream": "Client-side stream",
  "mobile-stream": "Mobile stream",
  "server-polling": "Server-side polling",
  "client-polling": "Client-side polling",
  "mobile-polling": "Mobile polling",
};

const named = (i: Identity) => (i.version ? `${i.name} ${i.version}` : i.name);
const when = (ms: number) => new Date(ms).toLocaleString();

function Figure({ label, value }: { label: string; value: number }) {
  return (
    <Paper withBorder p="sm" miw={140}>
      <Text size="xs" c="dimmed">
        {label}
      </Text>
      <Text fw={700} size="xl" data-testid={`total-${label}`}>
        {value}
      </Text>
    </Paper>
  );
}

export function SdkConnectionsPage({ projectKey, envKey }: { projectKey: string; envKey: string }) {
  const project = useQuery({ queryKey: ["project", projectKey], queryFn: () => api<Project>("GET", `/api/v2/projects/${enc(projectKey)}`) });
  const connections = useQuery({
    queryKey: ["sdk-connections", projectKey, envKey],
    queryFn: () => api<SdkConnections>("GET", `/api/v2/projects/${enc(projectKey)}/environments/${enc(envKey)}/sdk-connections`),
    refetchInterval: REFRESH_MS,
  });
  const data = connections.data;
  const polling = data?.pollingWindowMs ? Math.round(data.pollingWindowMs / 60_000) : undefined;
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={1}>SDK connections of {envKey}</Title>
        <Anchor component={Link} href={`/projects/${projectKey}/environments`}>
          Environments of {project.data?.name ?? projectKey}
        </Anchor>
      </Group>
      <Group>
        <Text size="sm" c="dimmed">
          Open streams, and SDKs that polled in the last {polling ?? "few"} minutes, on every streaming instance that answered. Refreshed every {REFRESH_MS / 1000} seconds.
        </Text>
        <Button size="compact-xs" variant="default" onClick={() => void connections.refetch()} loading={connections.isFetching}>
          Refresh the connections
        </Button>
      </Group>
      {connections.error && <Alert color="red">{errorText(connections.error)}</Alert>}
      {data && (
        <>
          <Group aria-label="Totals" role="group">
            <Figure label="Streams" value={data.totals.streams} />
            <Figure label="Server-side" value={data.totals.serverStreams} />
            <Figure label="Client-side" value={data.totals.clientStreams} />
            <Figure label="Mobile" value={data.totals.mobileStreams} />
            <Figure label="Polling requests" value={data.totals.pollingRequests} />
          </Group>
          <Text size="sm" data-testid="instances-answered">
            {data.instancesAnswered === 1 ? "1 streaming instance answered" : `${data.instancesAnswered} streaming instances answered`}
            {data.instances.length > 0 && `: ${data.instances.map((i) => `${i.instance} (${i.streams} ${i.streams === 1 ? "stream" : "streams"}${i.environmentSeq === null ? "" : `, data at #${i.environmentSeq}`})`).join("; ")}`}
          </Text>
        </>
      )}
      {data?.items.length === 0 && (
        <Alert color="gray" title="No SDK is connected" data-testid="no-connections">
          No SDK has a stream open to {envKey}, and none has polled it lately. SDKs show here once they connect with this environment's SDK key, mobile key or client-side ID.
        </Alert>
      )}
      {data && data.items.length > 0 && (
        <Table striped aria-label={`SDK connections of ${envKey}`}>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>SDK</Table.Th>
              <Table.Th>Wrapper</Table.Th>
              <Table.Th>Kind</Table.Th>
              <Table.Th>Count</Table.Th>
              <Table.Th>Connected since</Table.Th>
              <Table.Th>Last event</Table.Th>
              <Table.Th>Instance</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {data.items.map((g) => (
              <Table.Tr key={`${g.instance}|${g.kind}|${named(g.sdk)}|${g.wrapper ? named(g.wrapper) : ""}`} data-testid="sdk-connection">
                <Table.Td>{named(g.sdk)}</Table.Td>
                <Table.Td>{g.wrapper ? named(g.wrapper) : "—"}</Table.Td>
                <Table.Td>{KIND_LABELS[g.kind] ?? g.kind}</Table.Td>
                <Table.Td>{g.kind.endsWith("-stream") ? g.count : `${g.count} ${g.count === 1 ? "request" : "requests"}, last ${when(g.lastSeen)}`}</Table.Td>
                <Table.Td>{when(g.connectedSince)}</Table.Td>
                <Table.Td>#{g.lastEventSeq}</Table.Td>
                <Table.Td>
                  <Code>{g.instance}</Code>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  );
}
