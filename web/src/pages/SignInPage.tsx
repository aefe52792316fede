/**
 * Sign in with an account (username and password) or an API token. The server answers with an
 * HttpOnly session cookie that the page never sees; the console then loads afresh so that the
 * live connection opens with the new session too.
 */
import { useSearchParams } from '@solidjs/router';
import { createSignal, Match, Show, Switch } from 'solid-js';
import { client } from '../api/client';
import { outcomeOf, type ApiProblem } from '../api/outcome';
import { Banner, ProblemBanner } from '../components/States';
import { useSession } from '../session';
import { SignInMutation, SignOutMutation } from '../session-documents';

/** Only paths of this console: a sign-in link must not send the operator to another site. */
function safeNext(next: string | undefined): string {
  return next?.startsWith('/') && !next.startsWith('//') && !next.startsWith('/sign-in') ? next : '/jobs';
}

export async function signOut(): Promise<void> {
  await client.mutation(SignOutMutation, {}).toPromise();
  window.location.assign('/sign-in');
}

export function SignInPage() {
  const session = useSession();
  const [params] = useSearchParams<{ next?: string }>();
  const [mode, setMode] = createSignal<'account' | 'token'>('account');
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
        <div class="segmented" role="tablist" aria-label="Sign in with">
          <button type="button" role="tab" aria-selected={mode() === 'account'} classList={{ active: mode() === 'account' }} onClick={() => setMode('account')}>
            Account
          </button>
          <button type="button" role="tab" aria-selected={mode() === 'token'} classList={{ active: mode() === 'token' }} onClick={() => setMode('token')}>
            API token
          </button>
        </div>
        <Switch>
          <Match when={mode() === 'account'}>
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
          </Match>
          <Match when={mode() === 'token'}>
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
          </Match>
        </Switch>
        <ProblemBanner problem={problem()} testId="sign-in-error" />
        <button type="submit" class="btn btn-primary" disabled={busy()}>
          {busy() ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </div>
  );
}
