/**
 * Saving a targeting change: the instructions are shown (in words and as sent) with a comment box,
 * then sent as one semantic patch against the version of the flag they were made on (`If-Match`).
 * A 409 (someone else changed the flag meanwhile) shows their version and lets the user apply the
 * same instructions again on top of it; any other refusal shows the API's message. Nothing the
 * user entered is lost on a failed save.
 */
import { Alert, Button, Code, Group, List, Modal, Stack, Text, Textarea } from "@mantine/core";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { ApiError, SEMANTIC_PATCH, api, enc, errorText, type Clause, type Flag } from "./api.ts";

export type Instruction = Record<string, unknown> & { kind: string };

export interface ReviewProps {
  projectKey: string;
  flag: Flag;
  environmentKey: string;
  instructions: Instruction[];
  opened: boolean;
  onClose(): void;
  onSaved(flag: Flag): void;
}

const variationLabel = (flag: Flag, id: unknown) => {
  const i = flag.variations.findIndex((v) => v._id === id);
  const v = flag.variations[i];
  return v ? (v.name ?? JSON.stringify(v.value)) : String(id);
};

const serveText = (flag: Flag, i: Instruction) => {
  if (i.variationId !== undefined) return `serve ${variationLabel(flag, i.variationId)}`;
  const weights = (i.rolloutWeights ?? {}) as Record<string, number>;
  const parts = Object.entries(weights).map(([id, w]) => `${w / 1000}% ${variationLabel(flag, id)}`);
  return `roll out ${parts.join(" / ")}${i.rolloutBucketBy ? ` by ${String(i.rolloutBucketBy)}` : ""}`;
};

export const clauseText = (c: Pick<Clause, "attribute" | "op" | "values" | "negate">) => `${c.attribute} ${c.negate ? "not " : ""}${c.op} ${c.values.map(String).join(", ")}`;

/** One instruction in words. */
export function describe(flag: Flag, i: Instruction): string {
  switch (i.kind) {
    case "turnFlagOn":
      return "Turn targeting on";
    case "turnFlagOff":
      return "Turn targeting off";
    case "addTargets":
      return `Serve ${variationLabel(flag, i.variationId)} to ${(i.values as string[]).join(", ")}`;
    case "removeTargets":
      return `Stop serving ${variationLabel(flag, i.variationId)} to ${(i.values as string[]).join(", ")}`;
    case "addRule":
      return `Add a rule: if ${(i.clauses as Clause[]).map(clauseText).join(" and ")}, ${serveText(flag, i)}`;
    case "removeRule":
      return `Remove the rule ${String(i.ruleId)}`;
    case "updateFallthroughVariationOrRollout":
      return `Default rule: ${serveText(flag, i)}`;
    case "updateOffVariation":
      return `When off, serve ${variationLabel(flag, i.variationId)}`;
    default:
      return i.kind;
  }
}

export function ReviewChange({ projectKey, flag, environmentKey, instructions, opened, onClose, onSaved }: ReviewProps) {
  const client = useQueryClient();
  const [comment, setComment] = useState("");
  const [version, setVersion] = useState(flag._version);
  const [conflict, setConflict] = useState<Flag | undefined>();
  useEffect(() => {
    if (opened) {
      setVersion(flag._version);
      setConflict(undefined);
    }
  }, [opened, flag._version]);
  const save = useMutation({
    mutationFn: () =>
      api<Flag>("PATCH", `/api/v2/flags/${enc(projectKey)}/${enc(flag.key)}?env=${enc(environmentKey)}`, { environmentKey, comment, instructions }, {
        "content-type": SEMANTIC_PATCH,
        "if-match": `"${version}"`,
      }),
    onSuccess: (saved) => {
      setComment("");
      setConflict(undefined);
      void client.invalidateQueries({ queryKey: ["flags", projectKey] });
      void client.invalidateQueries({ queryKey: ["flag", projectKey, flag.key] });
      void client.invalidateQueries({ queryKey: ["auditlog"] });
      onSaved(saved);
    },
    onError: async (e) => {
      if (e instanceof ApiError && e.status === 409) {
        const latest = await api<Flag>("GET", `/api/v2/flags/${enc(projectKey)}/${enc(flag.key)}?env=${enc(environmentKey)}&summary=0`).catch(() => undefined);
        if (latest) setConflict(latest);
      }
    },
  });
  const latestEnv = conflict?.environments[environmentKey];
  return (
    <Modal opened={opened} onClose={onClose} lockScroll={false} closeButtonProps={{ "aria-label": "Close the review" }} title={`Review changes to ${flag.name} in ${environmentKey}`} size="lg">
      <Stack>
        <Text size="sm">These instructions will be sent as one change:</Text>
        <List size="sm" data-testid="change-preview">
          {instructions.map((i, n) => (
            <List.Item key={n}>{describe(flag, i)}</List.Item>
          ))}
        </List>
        <Code block aria-label="Instructions as sent">
          {JSON.stringify(instructions, null, 2)}
        </Code>
        <Textarea label="Comment" description="Recorded in the audit log with the change" value={comment} onChange={(e) => setComment(e.currentTarget.value)} autosize minRows={2} />
        {save.error && !(save.error instanceof ApiError && save.error.status === 409) && (
          <Alert color="red" role="alert" title="Not saved">
            {errorText(save.error)}
          </Alert>
        )}
        {save.error instanceof ApiError && save.error.status === 409 && (
          <Alert color="orange" role="alert" title="Someone else changed this flag">
            <Text size="sm">{save.error.message}</Text>
            {conflict && latestEnv && (
              <Text size="sm" mt="xs" data-testid="conflict-latest">
                It is now at version {conflict._version}: targeting is {latestEnv.on ? "on" : "off"}, with {latestEnv.rules?.length ?? 0} rule(s) and{" "}
                {(latestEnv.targets ?? []).reduce((n, t) => n + t.values.length, 0)} individual target(s) in {environmentKey}.
              </Text>
            )}
            {conflict && (
              <Button
                mt="xs"
                size="xs"
                onClick={() => {
                  setVersion(conflict._version);
                  save.reset();
                  setConflict(undefined);
                }}
              >
                Apply my change on version {conflict._version}
              </Button>
            )}
          </Alert>
        )}
        <Group justify="flex-end">
          <Button variant="default" onClick={onClose}>
            Cancel
          </Button>
          <Button onClick={() => save.mutate()} loading={save.isPending} disabled={instructions.length === 0 || !!conflict}>
            Save on version {version}
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}
