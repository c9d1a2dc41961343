/** The console's frame: who is signed in (else the sign-in form), the navigation and the pages. */
import { Alert, Button, Group, NavLink, PasswordInput, Paper, Stack, Text, TextInput, Title } from "@mantine/core";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState, type FormEvent } from "react";
import { Link, Route, Switch, useLocation } from "wouter";
import { ApiError, api, errorText } from "./api.ts";
import { useLiveChanges } from "./live.ts";
import { AuditLogPage } from "./pages/audit-log.tsx";
import { EnvironmentsPage } from "./pages/environments.tsx";
import { FlagPage } from "./pages/flag.tsx";
import { ApprovalsPage, DeliveriesPage, ScheduledChangesPage } from "./pages/flag-changes.tsx";
import { FlagsPage } from "./pages/flags.tsx";
import { MembersPage, RolesPage } from "./pages/members.tsx";
import { ProjectsPage } from "./pages/projects.tsx";
import { SdkConnectionsPage } from "./pages/sdk-connections.tsx";
import { SegmentPage, SegmentsPage } from "./pages/segments.tsx";
import { TokensPage } from "./pages/tokens.tsx";
import { WebhooksPage } from "./pages/webhooks.tsx";
import { CallError } from "./parts.tsx";

interface Identity {
  authKind: string;
  memberEmail?: string;
  role: string;
}

export function App() {
  const identity = useQuery({
    queryKey: ["caller-identity"],
    queryFn: () => api<Identity>("GET", "/api/v2/caller-identity"),
    retry: false,
  });
  if (identity.isPending) return <Text p="xl">Loading…</Text>;
  if (identity.error) {
    if (identity.error instanceof ApiError && identity.error.status === 401) return <SignIn />;
    return (
      <Alert color="red" m="xl" title="The API did not answer">
        {errorText(identity.error)}
      </Alert>
    );
  }
  return <Shell identity={identity.data} />;
}

function SignIn() {
  const client = useQueryClient();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const signIn = useMutation({
    mutationFn: () => api("POST", "/api/v2/sessions", { email, password }),
    onSuccess: () => client.invalidateQueries(),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    signIn.mutate();
  };
  return (
    <main>
      <Paper maw={400} mx="auto" mt={80} p="xl" withBorder>
        <form onSubmit={submit}>
          <Stack>
            <Title order={1} size="h2">
              Sign in to Vexil
            </Title>
            <TextInput label="Email" type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.currentTarget.value)} />
            <PasswordInput label="Password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.currentTarget.value)} />
            <CallError error={signIn.error} />
            <Button type="submit" loading={signIn.isPending}>
              Sign in
            </Button>
            <Text size="sm" c="dimmed">
              A member signs in with a password set through the API: <code>PATCH /api/v2/members/&lt;id&gt;</code> with the admin token.
            </Text>
          </Stack>
        </form>
      </Paper>
    </main>
  );
}

/**
 * After a move to another page, focus goes to the page's content, as a page load would put it at
 * its start: the link that was followed is gone, and a keyboard user would otherwise start again
 * from the top of the document.
 */
function useFocusOnNavigation(location: string): void {
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    document.getElementById("main")?.focus();
  }, [location]);
}

function Shell({ identity }: { identity: Identity }) {
  const client = useQueryClient();
  const [location, navigate] = useLocation();
  useLiveChanges();
  useFocusOnNavigation(location);
  const signOut = useMutation({
    mutationFn: () => api("DELETE", "/api/v2/sessions"),
    onSettled: () => {
      navigate("/");
      void client.resetQueries();
    },
  });
  const nav = [
    { href: "/", label: "Projects", active: location === "/" || location.startsWith("/projects") },
    { href: "/audit", label: "Audit log", active: location.startsWith("/audit") },
    { href: "/tokens", label: "Access tokens", active: location.startsWith("/tokens") },
    { href: "/webhooks", label: "Webhooks", active: location.startsWith("/webhooks") },
    { href: "/members", label: "Members", active: location.startsWith("/members") },
    { href: "/roles", label: "Custom roles", active: location.startsWith("/roles") },
  ];
  return (
    <div className="vx-shell">
      <a
        className="vx-skip"
        href="#main"
        onClick={(e) => {
          e.preventDefault();
          document.getElementById("main")?.focus();
        }}
      >
        Skip to content
      </a>
      <header className="vx-header">
        <Text fw={700} size="lg">
          Vexil
        </Text>
        <Group>
          <Text size="sm">{identity.memberEmail ?? identity.authKind}</Text>
          <Button variant="default" size="xs" onClick={() => signOut.mutate()} loading={signOut.isPending}>
            Sign out
          </Button>
        </Group>
      </header>
      <nav className="vx-nav" aria-label="Main">
        {nav.map((n) => (
          <NavLink key={n.href} component={Link} href={n.href} label={n.label} active={n.active} aria-current={n.active ? "page" : undefined} />
        ))}
      </nav>
      <main className="vx-main" id="main" tabIndex={-1}>
        <Switch>
          <Route path="/" component={ProjectsPage} />
          <Route path="/projects/:project/flags/:flag/approvals">{(p) => <ApprovalsPage projectKey={p.project} flagKey={p.flag} />}</Route>
          <Route path="/projects/:project/flags/:flag/deliveries">{(p) => <DeliveriesPage projectKey={p.project} flagKey={p.flag} />}</Route>
          <Route path="/projects/:project/flags/:flag/scheduled">{(p) => <ScheduledChangesPage projectKey={p.project} flagKey={p.flag} />}</Route>
          <Route path="/projects/:project/flags/:flag">{(p) => <FlagPage projectKey={p.project} flagKey={p.flag} />}</Route>
          <Route path="/projects/:project/segments/:segment">{(p) => <SegmentPage projectKey={p.project} segmentKey={p.segment} />}</Route>
          <Route path="/projects/:project/segments">{(p) => <SegmentsPage projectKey={p.project} />}</Route>
          <Route path="/projects/:project/environments/:env/sdk-connections">{(p) => <SdkConnectionsPage projectKey={p.project} envKey={p.env} />}</Route>
          <Route path="/projects/:project/environments">{(p) => <EnvironmentsPage projectKey={p.project} />}</Route>
          <Route path="/projects/:project">{(p) => <FlagsPage projectKey={p.project} />}</Route>
          <Route path="/audit" component={AuditLogPage} />
          <Route path="/tokens" component={TokensPage} />
          <Route path="/webhooks" component={WebhooksPage} />
          <Route path="/members" component={MembersPage} />
          <Route path="/roles" component={RolesPage} />
          <Route>
            <Title order={1}>Not found</Title>
            <Text>There is no page at {location}.</Text>
          </Route>
        </Switch>
      </main>
    </div>
  );
}
