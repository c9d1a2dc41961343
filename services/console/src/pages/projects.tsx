/** Projects: the list, and a new project whose environments' keys are shown this once. */
import { Alert, Anchor, Button, Code, CopyButton, Group, Stack, Table, Text, TextInput, Title } from "@mantine/core";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { Link } from "wouter";
import { api, environmentsOf, errorText, type Page, type Project } from "../api.ts";
import { CallError, SubmitRow } from "../parts.tsx";

export function ProjectsPage() {
  const client = useQueryClient();
  const projects = useQuery({ queryKey: ["projects"], queryFn: () => api<Page<Project>>("GET", "/api/v2/projects?expand=environments&limit=100") });
  const [key, setKey] = useState("");
  const [name, setName] = useState("");
  const create = useMutation({
    mutationFn: () => api<Project>("POST", "/api/v2/projects", { key, name: name || key }),
    onSuccess: () => {
      setKey("");
      setName("");
      void client.invalidateQueries({ queryKey: ["projects"] });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate();
  };
  return (
    <Stack>
      <Title order={1}>Projects</Title>
      {projects.error && <Alert color="red">{errorText(projects.error)}</Alert>}
      <Table striped>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Project</Table.Th>
            <Table.Th>Key</Table.Th>
            <Table.Th>Environments</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {projects.data?.items.map((p) => (
            <Table.Tr key={p.key}>
              <Table.Td>
                <Anchor component={Link} href={`/projects/${p.key}`}>
                  {p.name}
                </Anchor>
              </Table.Td>
              <Table.Td>
                <Code>{p.key}</Code>
              </Table.Td>
              <Table.Td>{environmentsOf(p).map((e) => e.name).join(", ")}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      <form onSubmit={submit} aria-labelledby="new-project">
        <Stack maw={480}>
          <Title order={2} size="h3" id="new-project">
            New project
          </Title>
          <TextInput label="Project key" required value={key} onChange={(e) => setKey(e.currentTarget.value)} description="Letters, digits, dots, dashes and underscores" />
          <TextInput label="Project name" value={name} onChange={(e) => setName(e.currentTarget.value)} />
          <CallError error={create.error} />
          <SubmitRow pending={create.isPending}>Create project</SubmitRow>
        </Stack>
      </form>
      {create.data && (
        <Alert color="green" title={`Project ${create.data.name} created`} role="status">
          <Text size="sm" mb="xs">
            These keys are shown this once: copy them now.
          </Text>
          {environmentsOf(create.data).map((e) => (
            <Group key={e.key} gap="xs" mb={4}>
              <Text size="sm" w={120}>
                {e.name} SDK key
              </Text>
              <Code data-testid={`sdk-key-${e.key}`}>{e.apiKey}</Code>
              <CopyButton value={e.apiKey ?? ""}>
                {({ copied, copy }) => (
                  <Button size="compact-xs" variant="default" onClick={copy}>
                    {copied ? "Copied" : `Copy ${e.name} SDK key`}
                  </Button>
                )}
              </CopyButton>
            </Group>
          ))}
        </Alert>
      )}
    </Stack>
  );
}
