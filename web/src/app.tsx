/** Routes of the console. Each page checks the permission it needs and shows its own states. */
import { Navigate, Route, Router, useLocation, type RouteSectionProps } from '@solidjs/router';
import { Provider } from '@urql/solid';
import { Match, Switch } from 'solid-js';
import { client } from './api/client';
import { Layout } from './components/Layout';
import { Loading } from './components/States';
import { AuditPage } from './pages/admin/AuditPage';
import { RolesPage } from './pages/admin/RolesPage';
import { TokensPage } from './pages/admin/TokensPage';
import { UsersPage } from './pages/admin/UsersPage';
import { WebhookPage } from './pages/admin/WebhookPage';
import { WebhooksPage } from './pages/admin/WebhooksPage';
import { DevicePage } from './pages/device/DevicePage';
import { DevicesPage } from './pages/devices/DevicesPage';
import { FirmwarePage } from './pages/firmware/FirmwarePage';
import { JobDetailsPage } from './pages/job/JobDetailsPage';
import { JobsPage } from './pages/jobs/JobsPage';
import { NotFoundPage } from './pages/NotFoundPage';
import { RequirePermission } from './pages/PermissionPage';
import { SignInPage } from './pages/SignInPage';
import { SessionProvider, useSession } from './session';

/** Signed-in pages inside the console frame; anyone else goes to sign-in and comes back. */
function Shell(props: RouteSectionProps) {
  const session = useSession();
  const location = useLocation();
  return (
    <Switch>
      <Match when={session.state().status === 'loading'}>
        <Loading label="Loading your session…" />
      </Match>
      <Match when={session.state().status === 'signed-out'}>
        <Navigate href={`/sign-in?next=${encodeURIComponent(location.pathname + location.search)}`} />
      </Match>
      <Match when={session.state().status === 'error'}>
        <div class="state state-error">The console could not load your session: {(session.state() as { message: string }).message}</div>
      </Match>
      <Match when={session.state().status === 'signed-in'}>
        <Layout>{props.children}</Layout>
      </Match>
    </Switch>
  );
}

export function App() {
  return (
    <Provider value={client}>
      <SessionProvider>
        <Router>
          <Route path="/sign-in" component={SignInPage} />
          <Route path="/" component={Shell}>
            <Route path="/" component={() => <Navigate href="/jobs" />} />
            <Route
              path="/jobs"
              component={() => (
                <RequirePermission permission="OTA_READ">
                  <JobsPage />
                </RequirePermission>
              )}
            />
            <Route
              path="/jobs/:id"
              component={() => (
                <RequirePermission permission="OTA_READ">
                  <JobDetailsPage />
                </RequirePermission>
              )}
            />
            <Route
              path="/firmware"
              component={() => (
                <RequirePermission permission="FIRMWARE_READ">
                  <FirmwarePage />
                </RequirePermission>
              )}
            />
            <Route
              path="/devices"
              component={() => (
                <RequirePermission permission="DEVICE_READ">
                  <DevicesPage />
                </RequirePermission>
              )}
            />
            <Route
              path="/devices/:productKey/:deviceKey"
              component={() => (
                <RequirePermission permission="DEVICE_READ" orPermission="OTA_READ">
                  <DevicePage />
                </RequirePermission>
              )}
            />
            <Route path="/admin" component={() => <Navigate href="/admin/users" />} />
            <Route
              path="/admin/users"
              component={() => (
                <RequirePermission permission="OU_ADMIN">
                  <UsersPage />
                </RequirePermission>
              )}
            />
            <Route
              path="/admin/roles"
              component={() => (
                <RequirePermission permission="OU_ADMIN">
                  <RolesPage />
                </RequirePermission>
              )}
            />
            <Route
              path="/admin/tokens"
              component={() => (
                <RequirePermission permission="OU_ADMIN">
                  <TokensPage />
                </RequirePermission>
              )}
            />
            <Route
              path="/admin/audit"
              component={() => (
                <RequirePermission permission="OU_ADMIN">
                  <AuditPage />
                </RequirePermission>
              )}
            />
            <Route
              path="/admin/webhooks"
              component={() => (
                <RequirePermission permission="WEBHOOK_ADMIN" orPermission="OU_ADMIN">
                  <WebhooksPage />
                </RequirePermission>
              )}
            />
            <Route
              path="/admin/webhooks/:id"
              component={() => (
                <RequirePermission permission="WEBHOOK_ADMIN" orPermission="OU_ADMIN">
                  <WebhookPage />
                </RequirePermission>
              )}
            />
            <Route path="*404" component={NotFoundPage} />
          </Route>
        </Router>
      </SessionProvider>
    </Provider>
  );
}
