/** Access tokens: the caller's tokens, and a new one whose secret is shown this once. */
import { Alert, Button, Code, CopyButton, Group, NativeSelect, Stack, Table, Text, TextInput, Title } from "@mantine/core";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { api, errorText, type Page } from "../api.ts";
import { CallError, SubmitRow } from "../parts.tsx";

interface Token {
  _id: string;
  name: string;
  role?: string;
  token: string;
  creationDate: number;
  lastUsed?: number;
}

export function TokensPage() {
  const client = useQueryClient();
  const tokens = useQuery({ queryKey: ["tokens"], queryFn: () => api<Page<Token>>("GET", "/api/v2/tokens") });
  const [name, setName] = useState("");
  const [role, setRole] = useState("reader");
  const create = useMutation({
    mutationFn: () => api<Token>("POST", "/api/v2/tokens", { name, role }),
    onSuccess: () => {
      setName("");
      void client.invalidateQueries({ queryKey: ["tokens"] });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate();
  };
  return (
    <Stack>
      <Title order={1}>Access tokens</Title>
      {tokens.error && <Alert color="red">{errorText(tokens.error)}</Alert>}
      <Table striped aria-label="Access tokens">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Name</Table.Th>
            <Table.Th>Role</Table.Th>
            <Table.Th>Secret</Table.Th>
            <Table.Th>Created</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {tokens.data?.items.map((t) => (
            <Table.Tr key={t._id}>
              <Table.Td>{t.name}</Table.Td>
              <Table.Td>{t.role ?? "custom"}</Table.Td>
              <Table.Td>
                <Code>{t.token}</Code>
              </Table.Td>
              <Table.Td>{new Date(t.creationDate).toISOString().slice(0, 10)}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      <form onSubmit={submit} aria-labelledby="new-token">
        <Stack maw={480}>
          <Title order={2} size="h3" id="new-token">
            New access token
          </Title>
          <TextInput label="Token name" required value={name} onChange={(e) => setName(e.currentTarget.value)} />
          <NativeSelect label="Role" value={role} data={["reader", "writer", "admin"]} onChange={(e) => setRole(e.currentTarget.value)} />
          <CallError error={create.error} />
          <SubmitRow pending={create.isPending}>Create token</SubmitRow>
        </Stack>
      </form>
      {create.data && (
        <Alert color="green" title={`Token ${create.data.name} created`} role="status">
          <Text size="sm" mb="xs">
            This secret is shown this once: copy it now.
          </Text>
          <Group gap="xs">
            <Code data-testid="new-token-secret">{create.data.token}</Code>
            <CopyButton value={create.data.token}>
              {({ copied, copy }) => (
                <Button size="compact-xs" variant="default" onClick={copy}>
                  {copied ? "Copied" : "Copy the secret"}
                </Button>
              )}
            </CopyButton>
          </Group>
        </Alert>
      )}
    </Stack>
  );
}
