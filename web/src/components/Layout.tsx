/** The console frame: navigation on the left, the live-connection state and the user on top. */
import { A, useLocation } from '@solidjs/router';
import { Show, type JSX } from 'solid-js';
import { liveState } from '../api/client';
import { signOut } from '../pages/SignInPage';
import { useSession } from '../session';

export function LiveIndicator() {
  const text = () => ({ live: 'Live', connecting: 'Connecting…', reconnecting: 'Reconnecting…' })[liveState()];
  return (
    <span class={`live-indicator live-${liveState()}`} data-testid="live-indicator" data-state={liveState()} title="Live updates connection">
      <span class="dot" aria-hidden="true" />
      {text()}
    </span>
  );
}

export function Layout(props: { children?: JSX.Element }) {
  const session = useSession();
  const location = useLocation();
  const section = () => location.pathname.split('/')[1] ?? '';
  return (
    <div class="app">
      <aside class="sidebar">
        <A href="/jobs" class="brand">
          <span class="brand-mark" aria-hidden="true">
            ▲
          </span>
          Updraft
        </A>
        <div class="nav-group">Device Management</div>
        <nav class="nav">
          <div class="nav-subgroup">OTA Upgrades</div>
          <A href="/jobs" class="nav-link" classList={{ active: section() === 'jobs' || section() === '' }}>
            OTA Jobs
          </A>
          <A href="/firmware" class="nav-link" classList={{ active: section() === 'firmware' }}>
            Firmware
          </A>
          <div class="nav-subgroup">Fleet</div>
          <A href="/devices" class="nav-link" classList={{ active: section() === 'devices' }}>
            Devices
          </A>
        </nav>
        <div class="sidebar-foot">
          <a href="/graphql" target="_blank" rel="noreferrer">
            GraphQL API
          </a>
        </div>
      </aside>
      <div class="main">
        <header class="topbar">
          <div class="topbar-title">OTA console</div>
          <div class="topbar-right">
            <LiveIndicator />
            <Show when={session.me()}>
              {(me) => (
                <span class="user" data-testid="current-user">
                  <span class="user-name">{me().user.displayName}</span>
                  <span class="user-ou">{me().organisationUnit.name}</span>
                </span>
              )}
            </Show>
            <button type="button" class="btn btn-small" data-testid="sign-out" onClick={() => void signOut()}>
              Sign out
            </button>
          </div>
        </header>
        <Show when={liveState() === 'reconnecting'}>
          <div class="reconnect-banner" role="status" data-testid="reconnect-banner">
            Live updates paused: the connection to the server dropped. Reconnecting… The page catches up as soon as it is back.
          </div>
        </Show>
        <main class="content">{props.children}</main>
      </div>
    </div>
  );
}
