/**
 * Saving a targeting change: the instructions are shown (in words and as sent) with a comment box,
 * then sent as one semantic patch against the version of the flag they were made on (`If-Match`).
 * A 409 (someone else changed the flag meanwhile) shows their version and lets the user apply the
 * same instructions again on top of it; a 405 (the environment requires approval) offers to open an
 * approval request with the same instructions and comment; any other refusal shows the API's
 * message. The same instructions can instead be scheduled for a later time (a scheduled change).
 * Nothing the user entered is lost on a failed save.
 */
import { Alert, Anchor, Button, Code, Group, List, Modal, Stack, Text, TextInput, Textarea } from "@mantine/core";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { Link } from "wouter";
import { ApiError, SEMANTIC_PATCH, api, enc, errorText, type Clause, type Flag, type Instruction } from "./api.ts";
import { clauseText, describeRuleEdit } from "./rule-edits.ts";

export { clauseText };

export type { Instruction };

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


const kindText = (i: Instruction) => (i.contextKind && i.contextKind !== "user" ? `${String(i.contextKind)} ` : "");

/** The rule an instruction names, by its number in the environment's rules. */
const ruleName = (flag: Flag, environmentKey: string | undefined, ruleId: unknown) => {
  const rules = (environmentKey && flag.environments[environmentKey]?.rules) || [];
  const at = rules.findIndex((r) => r._id === ruleId);
  return at < 0 ? `the rule ${String(ruleId)}` : `rule ${at + 1}${rules[at]!.description ? ` (${rules[at]!.description})` : ""}`;
};

/** One instruction in words; `environmentKey` names the rules the instructions refer to. */
export function describe(flag: Flag, i: Instruction, environmentKey?: string): string {
  const ruleEdit = describeRuleEdit(i, (environmentKey && flag.environments[environmentKey]?.rules) || []);
  if (ruleEdit) return ruleEdit;
  switch (i.kind) {
    case "turnFlagOn":
      return "Turn targeting on";
    case "turnFlagOff":
      return "Turn targeting off";
    case "addTargets":
      return `Serve ${variationLabel(flag, i.variationId)} to ${kindText(i)}${(i.values as string[]).join(", ")}`;
    case "removeTargets":
      return `Stop serving ${variationLabel(flag, i.variationId)} to ${kindText(i)}${(i.values as string[]).join(", ")}`;
    case "updateName":
      return `Rename the flag to ${String(i.value)}`;
    case "updateDescription":
      return `Describe the flag as: ${String(i.value)}`;
    case "addTags":
      return `Add the tags ${(i.values as string[]).join(", ")}`;
    case "removeTags":
      return `Remove the tags ${(i.values as string[]).join(", ")}`;
    case "updateVariation":
      return `Name the variation ${JSON.stringify(flag.variations.find((v) => v._id === i.variationId)?.value)} ${JSON.stringify(i.name)}`;
    case "addVariation":
      return `Add the variation ${JSON.stringify(i.value)}${i.name ? ` (${String(i.name)})` : ""}`;
    case "addPrerequisite":
      return `Require the flag ${String(i.key)} to serve its variation ${String(i.variationId)}`;
    case "removePrerequisite":
      return `Stop requiring the flag ${String(i.key)}`;
    case "addRule":
      return `Add a rule: if ${(i.clauses as Clause[]).map(clauseText).join(" and ")}, ${serveText(flag, i)}`;
    case "removeRule":
      return `Remove ${ruleName(flag, environmentKey, i.ruleId)}`;
    case "updateRuleVariationOrRollout":
      return `${ruleName(flag, environmentKey, i.ruleId).replace(/^r/, "R")}: ${serveText(flag, i)}`;
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
  const [description, setDescription] = useState("");
  const [when, setWhen] = useState("");
  // Whether the last refusal was of a scheduled change that needs approval: its request then asks for the same date.
  const [scheduleRefused, setScheduleRefused] = useState(false);
  const base = `/api/v2/projects/${enc(projectKey)}/flags/${enc(flag.key)}/environments/${enc(environmentKey)}`;
  const request = useMutation({
    mutationFn: () =>
      api<{ _id: string }>("POST", `${base}/approval-requests`, {
        description: description || comment || "Change requested from the console",
        instructions,
        ...(comment ? { comment } : {}),
        // Refused as a scheduled change: the request asks for the same date.
        ...(scheduleRefused && when !== "" ? { executionDate: new Date(when).getTime() } : {}),
      }),
    onSuccess: () => void client.invalidateQueries({ queryKey: ["approvals", projectKey, flag.key, environmentKey] }),
  });
  const schedule = useMutation({
    mutationFn: () => api<{ _id: string }>("POST", `${base}/scheduled-changes`, { executionDate: new Date(when).getTime(), instructions, ...(comment ? { comment } : {}) }),
    onMutate: () => setScheduleRefused(false),
    onSuccess: () => void client.invalidateQueries({ queryKey: ["scheduled", projectKey, flag.key, environmentKey] }),
    onError: (e) => setScheduleRefused(e instanceof ApiError && e.status === 405),
  });
  useEffect(() => {
    if (opened) {
      setVersion(flag._version);
      setConflict(undefined);
      request.reset();
      schedule.reset();
      setScheduleRefused(false);
    }
    // A new review starts clean; the mutations' own identity does not matter here.
  }, [opened, flag._version]);
  const save = useMutation({
    mutationFn: () =>
      api<Flag>("PATCH", `/api/v2/flags/${enc(projectKey)}/${enc(flag.key)}?env=${enc(environmentKey)}`, { environmentKey, comment, instructions }, {
        "content-type": SEMANTIC_PATCH,
        "if-match": `"${version}"`,
      }),
    onMutate: () => setScheduleRefused(false),
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
  const needsApproval = (save.error instanceof ApiError && save.error.status === 405) || scheduleRefused;
  return (
    <Modal opened={opened} onClose={onClose} lockScroll={false} closeButtonProps={{ "aria-label": "Close the review" }} title={`Review changes to ${flag.name} in ${environmentKey}`} size="lg">
      <Stack>
        <Text size="sm">These instructions will be sent as one change:</Text>
        <List size="sm" data-testid="change-preview">
          {instructions.map((i, n) => (
            <List.Item key={n}>{describe(flag, i, environmentKey)}</List.Item>
          ))}
        </List>
        <Code block aria-label="Instructions as sent">
          {JSON.stringify(instructions, null, 2)}
        </Code>
        <Textarea label="Comment" description="Recorded in the audit log with the change" value={comment} onChange={(e) => setComment(e.currentTarget.value)} autosize minRows={2} />
        {save.error && !(save.error instanceof ApiError && (save.error.status === 409 || save.error.status === 405)) && (
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
        {needsApproval && (
          <Alert color="yellow" role="alert" title="This change needs approval">
            <Stack gap="xs">
              <Text size="sm">{scheduleRefused ? `${errorText(schedule.error)} The request can ask for it to apply at ${new Date(when).toLocaleString()}.` : errorText(save.error)}</Text>
              {request.data ? (
                <Text size="sm" role="status">
                  Approval request {request.data._id} opened.{" "}
                  <Anchor component={Link} href={`/projects/${projectKey}/flags/${flag.key}/approvals?env=${environmentKey}`}>
                    See the approval requests
                  </Anchor>
                </Text>
              ) : (
                <>
                  <TextInput label="Approval request description" placeholder="What the change is for" value={description} onChange={(e) => setDescription(e.currentTarget.value)} />
                  {request.error && <Text size="sm" c="red">{errorText(request.error)}</Text>}
                  <Group>
                    <Button size="xs" onClick={() => request.mutate()} loading={request.isPending}>
                      Request approval
                    </Button>
                  </Group>
                </>
              )}
            </Stack>
          </Alert>
        )}
        <Group align="end">
          <TextInput type="datetime-local" label="Schedule for" description="Apply these instructions later instead" value={when} onChange={(e) => setWhen(e.currentTarget.value)} />
          <Button variant="default" onClick={() => schedule.mutate()} loading={schedule.isPending} disabled={instructions.length === 0 || when === "" || !!schedule.data}>
            Schedule the change
          </Button>
        </Group>
        {schedule.error && !scheduleRefused && (
          <Alert color="red" role="alert" title="Not scheduled">
            {errorText(schedule.error)}
          </Alert>
        )}
        {schedule.data && (
          <Alert color="green" role="status">
            Scheduled change {schedule.data._id} made for {new Date(when).toLocaleString()}.{" "}
            <Anchor component={Link} href={`/projects/${projectKey}/flags/${flag.key}/scheduled?env=${environmentKey}`}>
              See the scheduled changes
            </Anchor>
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
