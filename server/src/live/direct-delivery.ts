/**
 * Direct delivery: a live source hands a value straight to its subscriber's socket while the
 * subscriber's pull waits, instead of answering the pull.
 *
 * Answering a pull sends the value up through every layer between the source and graphql-ws (the
 * shared-result map, yoga's masked-errors map and error wrapper, graphql-ws's `for await` and its
 * promise per send): a few promises per event and subscriber, which with a thousand subscribers
 * were most of the server's work left besides the socket writes (docs/benchmarks.md, fan-out).
 * A source with a sink attached first offers each value to the sink; the sink writes it when it
 * can do so exactly as that path would (live/shared-results.ts says when), and otherwise declines,
 * and the value goes up the pull as before. The pull keeps waiting while values go directly, so
 * graphql-ws sends nothing of its own meanwhile, and ending the subscription (the client's
 * `complete`, the socket closing) ends the source as before.
 */

/**
 * - `sent`: written to the socket; the value counts as delivered, the pull keeps waiting.
 * - `busy`: the sink's previous write has not left yet (or the value's result is still being
 *   computed): keep the value, as if the subscriber had not pulled, until the sink calls resume.
 * - `declined`: deliver it by answering the pull.
 */
export type Offered = 'sent' | 'busy' | 'declined';

export interface DirectSink<T> {
  offer(value: T): Offered;
}

export const ATTACH_DIRECT_SINK = Symbol('updraft.attachDirectSink');

/** A source that can offer its values to a sink. Returns `resume`: the sink calls it when it is ready again after `busy`. */
export interface DirectSource<T> {
  [ATTACH_DIRECT_SINK](sink: DirectSink<T>): () => void;
}

export function isDirectSource<T>(source: unknown): source is DirectSource<T> {
  return typeof source === 'object' && source !== null && typeof (source as Partial<DirectSource<T>>)[ATTACH_DIRECT_SINK] === 'function';
}
