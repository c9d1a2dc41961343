/** Small pieces every form of the console shares. */
import { Alert, Button, Group } from "@mantine/core";
import type { ReactNode } from "react";
import { errorText } from "./api.ts";

/** What a failed call answered, as an alert read out at once; nothing while it has not failed. */
export function CallError({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <Alert color="red" role="alert">
      {errorText(error)}
    </Alert>
  );
}

/** A form's submit button, busy while its call is. */
export function SubmitRow({ pending, children }: { pending: boolean; children: ReactNode }) {
  return (
    <Group>
      <Button type="submit" loading={pending}>
        {children}
      </Button>
    </Group>
  );
}
