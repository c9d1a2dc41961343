/** Account members (list, invite) and custom roles (list, create with a policy written as JSON). */
import { Alert, Button, Code, Group, NativeSelect, PasswordInput, Stack, Table, Text, TextInput, Textarea, Title } from "@mantine/core";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { api, errorText, type Page } from "../api.ts";
import { CallError, SubmitRow } from "../parts.tsx";

interface Member {
  _id: string;
  email: string;
  firstName?: string;
  lastName?: string;
  role: string;
  customRoles: string[];
  _lastSeen: number;
}
interface Role {
  _id: string;
  key: string;
  name: string;
  description?: string;
  policy: unknown[];
}

const listOf = (text: string) => text.split(",").map((v) => v.trim()).filter((v) => v !== "");

export function MembersPage() {
  const client = useQueryClient();
  const members = useQuery({ queryKey: ["members"], queryFn: () => api<Page<Member>>("GET", "/api/v2/members?limit=100") });
  const [email, setEmail] = useState("");
  const [firstName, setFirstName] = useState("");
  const [role, setRole] = useState("reader");
  const [customRoles, setCustomRoles] = useState("");
  const [password, setPassword] = useState("");
  const invite = useMutation({
    mutationFn: () =>
      api<Page<Member>>("POST", "/api/v2/members", [
        { email, role, ...(firstName ? { firstName } : {}), ...(listOf(customRoles).length > 0 ? { customRoles: listOf(customRoles) } : {}), ...(password ? { password } : {}) },
      ]),
    onSuccess: () => {
      setEmail("");
      setFirstName("");
      setCustomRoles("");
      setPassword("");
      void client.invalidateQueries({ queryKey: ["members"] });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    invite.mutate();
  };
  return (
    <Stack>
      <Title order={1}>Members</Title>
      {members.error && <Alert color="red">{errorText(members.error)}</Alert>}
      <Table striped aria-label="Members">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Email</Table.Th>
            <Table.Th>Name</Table.Th>
            <Table.Th>Role</Table.Th>
            <Table.Th>Custom roles</Table.Th>
            <Table.Th>Last seen</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {members.data?.items.map((m) => (
            <Table.Tr key={m._id}>
              <Table.Td>{m.email}</Table.Td>
              <Table.Td>{[m.firstName, m.lastName].filter(Boolean).join(" ")}</Table.Td>
              <Table.Td>{m.role}</Table.Td>
              <Table.Td>{m.customRoles.join(", ")}</Table.Td>
              <Table.Td>{m._lastSeen ? new Date(m._lastSeen).toLocaleString() : "never"}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      <form onSubmit={submit} aria-labelledby="new-member">
        <Stack maw={480}>
          <Title order={2} size="h3" id="new-member">
            Invite a member
          </Title>
          <TextInput label="Member email" type="email" required value={email} onChange={(e) => setEmail(e.currentTarget.value)} />
          <TextInput label="First name" value={firstName} onChange={(e) => setFirstName(e.currentTarget.value)} />
          <NativeSelect label="Member role" value={role} data={["reader", "writer", "admin", "no_access"]} onChange={(e) => setRole(e.currentTarget.value)} />
          <TextInput label="Custom roles" description="Role keys, comma-separated" value={customRoles} onChange={(e) => setCustomRoles(e.currentTarget.value)} />
          <PasswordInput label="Initial password" description="Optional: at least 8 characters; without one, set it later through the API" autoComplete="new-password" value={password} onChange={(e) => setPassword(e.currentTarget.value)} />
          <CallError error={invite.error} />
          <SubmitRow pending={invite.isPending}>Invite member</SubmitRow>
        </Stack>
      </form>
    </Stack>
  );
}

const EXAMPLE_POLICY = JSON.stringify([{ effect: "allow", resources: ["proj/*:env/staging:flag/*"], actions: ["*"] }], null, 2);

export function RolesPage() {
  const client = useQueryClient();
  const roles = useQuery({ queryKey: ["roles"], queryFn: () => api<Page<Role>>("GET", "/api/v2/roles") });
  const [key, setKey] = useState("");
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [policy, setPolicy] = useState(EXAMPLE_POLICY);
  const parsed = (() => {
    try {
      return { ok: true as const, value: JSON.parse(policy) as unknown };
    } catch (e) {
      return { ok: false as const, message: (e as Error).message };
    }
  })();
  const create = useMutation({
    mutationFn: () => api<Role>("POST", "/api/v2/roles", { key, name: name || key, policy: parsed.ok ? parsed.value : [], ...(description ? { description } : {}) }),
    onSuccess: () => {
      setKey("");
      setName("");
      setDescription("");
      void client.invalidateQueries({ queryKey: ["roles"] });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (parsed.ok) create.mutate();
  };
  return (
    <Stack>
      <Title order={1}>Custom roles</Title>
      {roles.error && <Alert color="red">{errorText(roles.error)}</Alert>}
      {roles.data?.items.length === 0 && <Text>No custom roles yet.</Text>}
      {roles.data && roles.data.items.length > 0 && (
        <Table striped aria-label="Custom roles">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Key</Table.Th>
              <Table.Th>Name</Table.Th>
              <Table.Th>Policy</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {roles.data.items.map((r) => (
              <Table.Tr key={r._id}>
                <Table.Td>
                  <Code>{r.key}</Code>
                </Table.Td>
                <Table.Td>{r.name}</Table.Td>
                <Table.Td>
                  <Code block>{JSON.stringify(r.policy)}</Code>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      <form onSubmit={submit} aria-labelledby="new-role">
        <Stack maw={640}>
          <Title order={2} size="h3" id="new-role">
            New custom role
          </Title>
          <TextInput label="Role key" required value={key} onChange={(e) => setKey(e.currentTarget.value)} />
          <TextInput label="Role name" value={name} onChange={(e) => setName(e.currentTarget.value)} />
          <TextInput label="Role description" value={description} onChange={(e) => setDescription(e.currentTarget.value)} />
          <Textarea
            label="Policy"
            description="A JSON array of statements: effect, resources or notResources, actions or notActions"
            autosize
            minRows={6}
            classNames={{ input: "vx-mono" }}
            value={policy}
            error={parsed.ok ? undefined : `Not JSON: ${parsed.message}`}
            onChange={(e) => setPolicy(e.currentTarget.value)}
          />
          <CallError error={create.error} />
          <Group>
            <Button type="submit" loading={create.isPending} disabled={!parsed.ok}>
              Create role
            </Button>
          </Group>
        </Stack>
      </form>
    </Stack>
  );
}
