/**
 * A project's environments: a new one, and resets of an SDK key (the old one kept until an expiry,
 * or stopped at once) or a mobile key. Keys are in the API's answer once: shown then, with copy buttons.
 */
import { Alert, Anchor, Button, Code, CopyButton, Group, NativeSelect, Stack, Table, Text, TextInput, Title } from "@mantine/core";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { Link } from "wouter";
import { api, enc, environmentsOf, errorText, type Environment, type Project } from "../api.ts";
import { CallError, SubmitRow } from "../parts.tsx";

const EXPIRIES = [
  { value: "0", label: "at once" },
  { value: "3600000", label: "in an hour" },
  { value: "86400000", label: "in a day" },
  { value: "604800000", label: "in a week" },
];

function Secret({ label, value }: { label: string; value: string }) {
  return (
    <Group gap="xs" mb={4}>
      <Text size="sm" w={120}>
        {label}
      </Text>
      <Code data-testid={`secret-${label}`}>{value}</Code>
      <CopyButton value={value}>
        {({ copied, copy }) => (
          <Button size="compact-xs" variant="default" onClick={copy}>
            {copied ? "Copied" : `Copy the ${label.toLowerCase()}`}
          </Button>
        )}
      </CopyButton>
    </Group>
  );
}

export function EnvironmentsPage({ projectKey }: { projectKey: string }) {
  const client = useQueryClient();
  const project = useQuery({ queryKey: ["project", projectKey], queryFn: () => api<Project>("GET", `/api/v2/projects/${enc(projectKey)}?expand=environments`) });
  const [shown, setShown] = useState<{ title: string; env: Environment; which: Array<"apiKey" | "mobileKey" | "_id"> } | undefined>();
  const [expiry, setExpiry] = useState("0");
  const [key, setKey] = useState("");
  const [name, setName] = useState("");
  const [color, setColor] = useState("417505");
  const done = (title: string, which: Array<"apiKey" | "mobileKey" | "_id">) => (env: Environment) => {
    setShown({ title, env, which });
    void client.invalidateQueries({ queryKey: ["project", projectKey] });
    void client.invalidateQueries({ queryKey: ["projects"] });
  };
  const create = useMutation({
    mutationFn: () => api<Environment>("POST", `/api/v2/projects/${enc(projectKey)}/environments`, { key, name: name || key, color }),
    onSuccess: (env) => {
      setKey("");
      setName("");
      done(`Environment ${env.name} created`, ["apiKey", "mobileKey", "_id"])(env);
    },
  });
  const reset = useMutation({
    mutationFn: ({ env, kind }: { env: string; kind: "apiKey" | "mobileKey" }) => {
      const after = kind === "apiKey" && expiry !== "0" ? `?expiry=${Date.now() + Number(expiry)}` : "";
      return api<Environment>("POST", `/api/v2/projects/${enc(projectKey)}/environments/${enc(env)}/${kind}${after}`);
    },
    onSuccess: (env, { kind }) => done(`${env.name}: new ${kind === "apiKey" ? "SDK" : "mobile"} key`, [kind])(env),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate();
  };
  const envs = project.data ? environmentsOf(project.data) : [];
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={1}>{project.data?.name ?? projectKey}: environments</Title>
        <Anchor component={Link} href={`/projects/${projectKey}`}>
          Flags of {project.data?.name ?? projectKey}
        </Anchor>
      </Group>
      {project.error && <Alert color="red">{errorText(project.error)}</Alert>}
      {shown && (
        <Alert color="green" title={shown.title} role="status">
          <Text size="sm" mb="xs">
            Shown this once: copy now.
          </Text>
          {shown.which.includes("apiKey") && shown.env.apiKey && <Secret label="SDK key" value={shown.env.apiKey} />}
          {shown.which.includes("mobileKey") && shown.env.mobileKey && <Secret label="Mobile key" value={shown.env.mobileKey} />}
          {shown.which.includes("_id") && <Secret label="Client-side ID" value={shown.env._id} />}
        </Alert>
      )}
      <CallError error={reset.error} />
      <NativeSelect label="When an SDK key is reset, the old one stops" w={280} value={expiry} data={EXPIRIES} onChange={(e) => setExpiry(e.currentTarget.value)} />
      <Table striped aria-label="Environments">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Environment</Table.Th>
            <Table.Th>Key</Table.Th>
            <Table.Th>Client-side ID</Table.Th>
            <Table.Th>SDK key</Table.Th>
            <Table.Th>Keys</Table.Th>
            <Table.Th>SDKs</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {envs.map((e) => (
            <Table.Tr key={e.key}>
              <Table.Td>{e.name}</Table.Td>
              <Table.Td>
                <Code>{e.key}</Code>
              </Table.Td>
              <Table.Td>
                <Code>{e._id}</Code>
              </Table.Td>
              <Table.Td>
                <Code>{e.apiKey}</Code>
              </Table.Td>
              <Table.Td>
                <Group gap="xs">
                  <Button size="compact-xs" variant="default" onClick={() => reset.mutate({ env: e.key, kind: "apiKey" })}>
                    Reset the SDK key of {e.name}
                  </Button>
                  <Button size="compact-xs" variant="default" onClick={() => reset.mutate({ env: e.key, kind: "mobileKey" })}>
                    Reset the mobile key of {e.name}
                  </Button>
                </Group>
              </Table.Td>
              <Table.Td>
                <Anchor component={Link} size="sm" href={`/projects/${projectKey}/environments/${e.key}/sdk-connections`}>
                  SDK connections of {e.name}
                </Anchor>
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      <form onSubmit={submit} aria-labelledby="new-environment">
        <Stack maw={480}>
          <Title order={2} size="h3" id="new-environment">
            New environment
          </Title>
          <TextInput label="Environment key" required value={key} onChange={(e) => setKey(e.currentTarget.value)} />
          <TextInput label="Environment name" value={name} onChange={(e) => setName(e.currentTarget.value)} />
          <TextInput label="Color" description="Six hex digits" value={color} onChange={(e) => setColor(e.currentTarget.value)} />
          <CallError error={create.error} />
          <SubmitRow pending={create.isPending}>Create environment</SubmitRow>
        </Stack>
      </form>
    </Stack>
  );
}
