/**
 * Who is signed in and what they may do. Pages hide or disable the controls the caller may not use
 * with `can(permission)`; the server checks again and answers FORBIDDEN naming the permission.
 */
import { createContext, createEffect, createSignal, on, useContext, type Accessor, type JSX } from 'solid-js';
import { client, sessionEnded } from './api/client';
import { readFragment } from './api/graphql';
import type { Permission } from './labels';
import { MeFields, MeQuery, type Me } from './session-documents';

export type { Permission };

export type { Me };

export type SessionState = { status: 'loading' } | { status: 'signed-out' } | { status: 'signed-in'; me: Me } | { status: 'error'; message: string };

interface SessionApi {
  state: Accessor<SessionState>;
  me: Accessor<Me | null>;
  can: (permission: Permission) => boolean;

  reload: () => Promise<void>;
}

const SessionContext = createContext<SessionApi>();

export function SessionProvider(props: { children: JSX.Element }) {
  const [state, setState] = createSignal<SessionState>({ status: 'loading' });
  const reload = async () => {
    const result = await client.query(MeQuery, {}, { requestPolicy: 'network-only' }).toPromise();
    if (result.error) {
      const code = result.error.graphQLErrors[0]?.extensions?.code;
      if (code === 'UNAUTHENTICATED') setState({ status: 'signed-out' });
      else setState({ status: 'error', message: result.error.message });
      return;
    }
    const me = result.data?.me;
    setState(me ? { status: 'signed-in', me: readFragment(MeFields, me) } : { status: 'signed-out' });
  };
  void reload();
  // A session that ends while the console is open (expired, signed out elsewhere, revoked) sends
  // the operator to sign in again instead of showing errors everywhere.
  createEffect(on(sessionEnded, (ended) => ended && state().status === 'signed-in' && setState({ status: 'signed-out' }), { defer: true }));
  const me = () => {
    const s = state();
    return s.status === 'signed-in' ? s.me : null;
  };
  const api: SessionApi = {
    state,
    me,
    can: (permission) => me()?.permissions.includes(permission) ?? false,
    reload,
  };
  return <SessionContext.Provider value={api}>{props.children}</SessionContext.Provider>;
}

export function useSession(): SessionApi {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside SessionProvider');
  return session;
}
