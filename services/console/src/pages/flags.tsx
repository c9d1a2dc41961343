/** A project's flags in one environment: search, pages, an on/off switch each, and a new flag. */
import { Alert, Anchor, Code, Group, NativeSelect, Pagination, Stack, Switch, Table, Text, TextInput, Title } from "@mantine/core";
import { useDebouncedValue } from "@mantine/hooks";
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useRef, useState, type FormEvent } from "react";
import { Link, useSearchParams } from "wouter";
import { api, enc, environmentsOf, errorText, type Flag, type Page, type Project } from "../api.ts";
import { ReviewChange, type Instruction } from "../review.tsx";
import { CallError, SubmitRow } from "../parts.tsx";

const PAGE_SIZE = 20;

export function FlagsPage({ projectKey }: { projectKey: string }) {
  const client = useQueryClient();
  const project = useQuery({ queryKey: ["project", projectKey], queryFn: () => api<Project>("GET", `/api/v2/projects/${enc(projectKey)}?expand=environments`) });
  const envs = project.data ? environmentsOf(project.data) : [];
  const [params, setParams] = useSearchParams();
  const env = params.get("env") ?? envs.find((e) => e.key === "production")?.key ?? envs[0]?.key ?? "";
  const [search, setSearch] = useState("");
  const [query] = useDebouncedValue(search, 250);
  const [tagText, setTagText] = useState("");
  const [tags] = useDebouncedValue(tagText, 250);
  const [state, setState] = useState("");
  const [page, setPage] = useState(1);
  const tagList = tags.split(",").map((t) => t.trim()).filter((t) => t !== "");
  const filters = [query && `query:${query}`, tagList.length > 0 && `tags:${tagList.join("+")}`, state && `state:${state}`].filter(Boolean);
  const filter = filters.length > 0 ? `&filter=${enc(filters.join(","))}` : "";
  const flags = useQuery({
    queryKey: ["flags", projectKey, env, filter, page],
    queryFn: () => api<Page<Flag>>("GET", `/api/v2/flags/${enc(projectKey)}?env=${enc(env)}&limit=${PAGE_SIZE}&offset=${(page - 1) * PAGE_SIZE}${filter}`),
    enabled: env !== "",
    placeholderData: keepPreviousData,
  });
  const [change, setChange] = useState<{ flag: Flag; instructions: Instruction[] } | undefined>();
  /** The switch that opened the review: focus goes back to it when the review closes. */
  const opener = useRef<HTMLElement | null>(null);
  const endReview = () => {
    setChange(undefined);
    const back = opener.current;
    setTimeout(() => back?.isConnected && back.focus());
  };
  const [key, setKey] = useState("");
  const [name, setName] = useState("");
  const [newTags, setNewTags] = useState("");
  const create = useMutation({
    mutationFn: () =>
      api<Flag>("POST", `/api/v2/flags/${enc(projectKey)}`, {
        key,
        name: name || key,
        variations: [
          { value: true, name: "true" },
          { value: false, name: "false" },
        ],
        defaults: { onVariation: 0, offVariation: 1 },
        tags: newTags.split(",").map((t) => t.trim()).filter((t) => t !== ""),
      }),
    onSuccess: () => {
      setKey("");
      setName("");
      setNewTags("");
      void client.invalidateQueries({ queryKey: ["flags", projectKey] });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate();
  };
  const total = flags.data?.totalCount ?? 0;
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={1}>{project.data?.name ?? projectKey}: flags</Title>
        <Group>
          <Anchor component={Link} href={`/projects/${projectKey}/segments?env=${env}`}>
            Segments
          </Anchor>
          <Anchor component={Link} href={`/projects/${projectKey}/environments`}>
            Environments and keys
          </Anchor>
        </Group>
      </Group>
      {project.error && <Alert color="red">{errorText(project.error)}</Alert>}
      <Group align="end">
        <NativeSelect
          label="Environment"
          value={env}
          data={envs.map((e) => ({ value: e.key, label: e.name }))}
          onChange={(e) => {
            setParams({ env: e.currentTarget.value });
            setPage(1);
          }}
        />
        <TextInput
          label="Search flags"
          value={search}
          onChange={(e) => {
            setSearch(e.currentTarget.value);
            setPage(1);
          }}
        />
        <TextInput
          label="Tags"
          description="All of these, comma-separated"
          value={tagText}
          onChange={(e) => {
            setTagText(e.currentTarget.value);
            setPage(1);
          }}
        />
        <NativeSelect
          label="State"
          value={state}
          data={[
            { value: "", label: "Not archived" },
            { value: "live", label: "Live" },
            { value: "deprecated", label: "Deprecated" },
            { value: "archived", label: "Archived" },
          ]}
          onChange={(e) => {
            setState(e.currentTarget.value);
            setPage(1);
          }}
        />
      </Group>
      {flags.error && <Alert color="red">{errorText(flags.error)}</Alert>}
      <Table striped aria-label="Flags">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Flag</Table.Th>
            <Table.Th>Key</Table.Th>
            <Table.Th>Tags</Table.Th>
            <Table.Th>Targeting in {env}</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {flags.data?.items.map((f) => {
            const on = f.environments[env]?.on ?? false;
            return (
              <Table.Tr key={f.key}>
                <Table.Td>
                  <Anchor component={Link} href={`/projects/${projectKey}/flags/${f.key}?env=${env}`}>
                    {f.name}
                  </Anchor>
                </Table.Td>
                <Table.Td>
                  <Code>{f.key}</Code>
                </Table.Td>
                <Table.Td>{f.tags.join(", ")}</Table.Td>
                <Table.Td>
                  <Switch
                    checked={on}
                    label={on ? "On" : "Off"}
                    aria-label={`${f.name} in ${env}`}
                    onChange={(e) => {
                      opener.current = e.currentTarget;
                      setChange({ flag: f, instructions: [{ kind: on ? "turnFlagOff" : "turnFlagOn" }] });
                    }}
                  />
                </Table.Td>
              </Table.Tr>
            );
          })}
        </Table.Tbody>
      </Table>
      {flags.data && flags.data.items.length === 0 && <Text c="dimmed">{filter ? "No flags match." : "No flags yet."}</Text>}
      {total > PAGE_SIZE && <Pagination total={Math.ceil(total / PAGE_SIZE)} value={page} onChange={setPage} aria-label="Pages of flags" />}
      <Text size="sm" c="dimmed">
        {total} flag(s)
      </Text>
      <form onSubmit={submit} aria-labelledby="new-flag">
        <Stack maw={480}>
          <Title order={2} size="h3" id="new-flag">
            New boolean flag
          </Title>
          <TextInput label="Flag key" required value={key} onChange={(e) => setKey(e.currentTarget.value)} />
          <TextInput label="Flag name" value={name} onChange={(e) => setName(e.currentTarget.value)} />
          <TextInput label="Flag tags" description="Comma-separated" value={newTags} onChange={(e) => setNewTags(e.currentTarget.value)} />
          <CallError error={create.error} />
          <SubmitRow pending={create.isPending}>Create flag</SubmitRow>
        </Stack>
      </form>
      {change && <ReviewChange projectKey={projectKey} flag={change.flag} environmentKey={env} instructions={change.instructions} opened onClose={endReview} onSaved={endReview} />}
    </Stack>
  );
}
