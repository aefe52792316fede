/**
 * Sign in with an account (username and password) or an API token. The server answers with an
 * HttpOnly session cookie that the page never sees; the console then loads afresh so that the
 * live connection opens with the new session too.
 */
import { useSearchParams } from '@solidjs/router';
import { Tabs } from '@kobalte/core/tabs';
import { createSignal, onMount, Show } from 'solid-js';
import { client } from '../api/client';
import { outcomeOf, type ApiProblem } from '../api/outcome';
import { Banner, ProblemBanner } from '../components/States';
import { useSession } from '../session';
import { SignInMutation, SignInOptionsQuery, SignOutMutation } from '../session-documents';

/** Only paths of this console: a sign-in link must not send the operator to another site. */
function safeNext(next: string | undefined): string {
  return next?.startsWith('/') && !next.startsWith('//') && !next.startsWith('/sign-in') ? next : '/jobs';
}

const MODE_KEY = 'updraft.signInWith';
function rememberedMode(): 'account' | 'token' | null {
  try {
    const value = localStorage.getItem(MODE_KEY);
    return value === 'account' || value === 'token' ? value : null;
  } catch {
    return null;
  }
}

export async function signOut(): Promise<void> {
  await client.mutation(SignOutMutation, {}).toPromise();
  window.location.assign('/sign-in');
}

export function SignInPage() {
  const session = useSession();
  const [params] = useSearchParams<{ next?: string }>();
  const [mode, setModeSignal] = createSignal<'account' | 'token'>(rememberedMode() ?? 'account');
  const setMode = (m: 'account' | 'token') => {
    setModeSignal(m);
    try {
      localStorage.setItem(MODE_KEY, m);
    } catch {
      // private mode: not remembered
    }
  };
  // Nobody has a password yet (a first start without ADMIN_PASSWORD): the administrator's token is
  // the only way in, so the page opens there (unless this browser last signed in another way).
  onMount(async () => {
    if (rememberedMode()) return;
    const result = await client.query(SignInOptionsQuery, {}, { requestPolicy: 'network-only' }).toPromise();
    if (result.data && !result.data.passwordSignInAvailable) setModeSignal('token');
  });
  const [username, setUsername] = createSignal('');
  const [password, setPassword] = createSignal('');
  const [token, setToken] = createSignal('');
  const [busy, setBusy] = createSignal(false);
  const [problem, setProblem] = createSignal<ApiProblem | null>(null);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setProblem(null);
    const input = mode() === 'account' ? { username: username().trim(), password: password() } : { token: token().trim() };
    const result = await client.mutation(SignInMutation, { input }).toPromise();
    const outcome = outcomeOf(result.error, result.data?.signIn);
    if (!outcome.ok) {
      setBusy(false);
      const payload = result.data?.signIn as { retryAfterSeconds?: number } | undefined;
      const wait = payload?.retryAfterSeconds;
      return setProblem(wait ? { ...outcome.problem, details: [...outcome.problem.details, `Try again in ${wait} seconds.`] } : outcome.problem);
    }
    setMode(mode());
    window.location.assign(safeNext(params.next));
  };

  return (
    <div class="signin">
      <form class="signin-card" onSubmit={submit} data-testid="sign-in-form">
        <div class="signin-brand">
          <span class="brand-mark" aria-hidden="true">
            ▲
          </span>
          Updraft
        </div>
        <h1>Sign in to the OTA console</h1>
        <Show when={session.me()}>
          {(me) => (
            <Banner kind="info">
              You are signed in as {me().user.displayName}. <a href={safeNext(params.next)}>Continue to the console</a> or sign in as someone else.
            </Banner>
          )}
        </Show>
        <Tabs value={mode()} onChange={(m) => setModeSignal(m as 'account' | 'token')}>
          <Tabs.List class="segmented" aria-label="Sign in with">
            <Tabs.Trigger value="account" classList={{ active: mode() === 'account' }} data-testid="sign-in-account-tab">
              Account
            </Tabs.Trigger>
            <Tabs.Trigger value="token" classList={{ active: mode() === 'token' }} data-testid="sign-in-token-tab">
              API token
            </Tabs.Trigger>
          </Tabs.List>
          <Tabs.Content value="account" class="signin-fields">
            <label class="field">
              <span class="field-label">Username</span>
              <input class="input" name="username" autocomplete="username" required value={username()} onInput={(e) => setUsername(e.currentTarget.value)} />
            </label>
            <label class="field">
              <span class="field-label">Password</span>
              <input
                class="input"
                name="password"
                type="password"
                autocomplete="current-password"
                required
                value={password()}
                onInput={(e) => setPassword(e.currentTarget.value)}
              />
            </label>
          </Tabs.Content>
          <Tabs.Content value="token" class="signin-fields">
            <label class="field">
              <span class="field-label">API token</span>
              <input
                class="input mono"
                name="token"
                type="password"
                autocomplete="off"
                required
                placeholder="updraft_…"
                value={token()}
                onInput={(e) => setToken(e.currentTarget.value)}
              />
              <span class="field-hint">The session acts with the token's permissions and ends when the token is revoked.</span>
            </label>
          </Tabs.Content>
        </Tabs>
        <ProblemBanner problem={problem()} testId="sign-in-error" />
        <button type="submit" class="btn btn-primary" disabled={busy()}>
          {busy() ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </div>
  );
}
