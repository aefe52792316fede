/** A list page's body: its error, loading and empty states, then the list in a card (dimmed while refreshing). */
import type { CombinedError } from '@urql/core';
import { Match, Switch, type Accessor, type JSX } from 'solid-js';
import { problemOfError } from '../api/outcome';
import { Loading, ProblemView } from './States';

export function ListView<C extends { nodes: readonly unknown[] }>(props: {
  connection: C | undefined;
  error: CombinedError | undefined;
  fetching: boolean;
  loadingLabel: string;
  empty: JSX.Element;
  onRetry: () => void;
  children: (connection: Accessor<C>) => JSX.Element;
}) {
  return (
    <Switch>
      <Match when={props.error && !props.connection}>
        <ProblemView problem={problemOfError(props.error!)} onRetry={props.onRetry} />
      </Match>
      <Match when={!props.connection}>
        <Loading label={props.loadingLabel} />
      </Match>
      <Match when={props.connection!.nodes.length === 0}>{props.empty}</Match>
      <Match when={props.connection}>
        {(connection) => (
          <div class="card" classList={{ stale: props.fetching }}>
            {props.children(connection)}
          </div>
        )}
      </Match>
    </Switch>
  );
}
