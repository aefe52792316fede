/**
 * The console frame: navigation on the left, the live-connection state, the time zone and the user
 * on top. Below 900 px wide the navigation collapses into a menu (a drawer opened from the top bar,
 * closed by Escape, by a link, or by a click beside it), so that a phone's whole width is the page.
 */
import { A, useLocation } from '@solidjs/router';
import { createEffect, createSignal, For, on, onCleanup, Show, type JSX } from 'solid-js';
import { liveState } from '../api/client';
import { signOut } from '../pages/SignInPage';
import { useSession } from '../session';
import { browserZone, setZoneSetting, zoneSetting, type ZoneSetting } from '../times';

export function LiveIndicator() {
  const text = () => ({ live: 'Live', connecting: 'Connecting…', reconnecting: 'Reconnecting…' })[liveState()];
  return (
    <span
      class={`live-indicator live-${liveState()}`}
      data-testid="live-indicator"
      data-state={liveState()}
      title="Live updates connection"
      role="status"
      aria-live="polite"
    >
      <span class="dot" aria-hidden="true" />
      <span class="live-text">{text()}</span>
    </span>
  );
}

/** Which zone every time of the console is shown in (kept in this browser). */
export function ZoneSelect() {
  const options = (): { value: ZoneSetting; label: string }[] => [
    { value: 'browser', label: `Browser (${browserZone()})` },
    { value: 'utc', label: 'UTC' },
    { value: 'job', label: 'The job’s time zone' },
  ];
  return (
    <label class="zone-select">
      <span class="zone-select-label">Times in</span>
      <select
        class="input input-small"
        data-testid="zone-setting"
        aria-label="Show times in"
        value={zoneSetting()}
        onChange={(e) => setZoneSetting(e.currentTarget.value as ZoneSetting)}
      >
        <For each={options()}>
          {(o) => (
            <option value={o.value} selected={o.value === zoneSetting()}>
              {o.label}
            </option>
          )}
        </For>
      </select>
    </label>
  );
}

interface NavItem {
  href: string;
  label: string;
  section: string;
}

export function Layout(props: { children?: JSX.Element }) {
  const session = useSession();
  const location = useLocation();
  const section = () => {
    const [, first, second] = location.pathname.split('/');
    return first === 'admin' ? `admin-${second}` : first || 'jobs';
  };
  const [menuOpen, setMenuOpen] = createSignal(false);
  // A link followed (or any navigation) closes the menu.
  createEffect(
    on(
      () => location.pathname + location.search,
      () => setMenuOpen(false),
      { defer: true },
    ),
  );
  const onKey = (e: KeyboardEvent) => e.key === 'Escape' && menuOpen() && setMenuOpen(false);
  document.addEventListener('keydown', onKey);
  onCleanup(() => document.removeEventListener('keydown', onKey));

  const link = (item: NavItem) => (
    <A href={item.href} class="nav-link" classList={{ active: section() === item.section }} aria-current={section() === item.section ? 'page' : undefined}>
      {item.label}
    </A>
  );
  return (
    <div class="app" classList={{ 'menu-open': menuOpen() }}>
      <aside class="sidebar" id="sidebar" aria-label="Navigation">
        <A href="/jobs" class="brand">
          <span class="brand-mark" aria-hidden="true">
            ▲
          </span>
          Updraft
        </A>
        <div class="nav-group">Device Management</div>
        <nav class="nav" aria-label="Console">
          <div class="nav-subgroup">OTA Upgrades</div>
          {link({ href: '/jobs', label: 'OTA Jobs', section: 'jobs' })}
          {link({ href: '/firmware', label: 'Firmware', section: 'firmware' })}
          <div class="nav-subgroup">Fleet</div>
          {link({ href: '/devices', label: 'Devices', section: 'devices' })}
          <Show when={session.can('OU_ADMIN') || session.can('WEBHOOK_ADMIN')}>
            <div class="nav-subgroup">Administration</div>
            <Show when={session.can('OU_ADMIN')}>
              {link({ href: '/admin/users', label: 'Users', section: 'admin-users' })}
              {link({ href: '/admin/roles', label: 'Roles', section: 'admin-roles' })}
              {link({ href: '/admin/tokens', label: 'API tokens', section: 'admin-tokens' })}
              {link({ href: '/admin/audit', label: 'Audit log', section: 'admin-audit' })}
            </Show>
            {link({ href: '/admin/webhooks', label: 'Webhooks', section: 'admin-webhooks' })}
          </Show>
        </nav>
        <div class="sidebar-foot">
          <a href="/graphql" target="_blank" rel="noreferrer">
            GraphQL API
          </a>
        </div>
      </aside>
      {/* A click beside the open menu closes it (keyboard users have Escape and the menu button). */}
      <div class="menu-backdrop" aria-hidden="true" onClick={() => setMenuOpen(false)} />
      <div class="main">
        <header class="topbar">
          <button
            type="button"
            class="btn btn-small menu-button"
            data-testid="menu-button"
            aria-expanded={menuOpen()}
            aria-controls="sidebar"
            onClick={() => setMenuOpen(!menuOpen())}
          >
            <span aria-hidden="true">☰</span> Menu
          </button>
          <div class="topbar-title">OTA console</div>
          <div class="topbar-right">
            <LiveIndicator />
            <ZoneSelect />
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
        <main class="content" id="content">
          {props.children}
        </main>
      </div>
    </div>
  );
}
