/**
 * `Promise.race([next, stop])` for a loop that races every event of a long subscription against one
 * stop signal. Promise.race subscribes to each of its inputs and never unsubscribes, so racing a
 * promise that stays pending for the subscription's whole life piles one reaction (and what it
 * holds) onto it per event: measured by pnpm bench as a few hundred KiB per subscriber after a few
 * hundred events. Here each race registers a listener and removes it as soon as it is decided.
 */
export type StopRace = <T>(value: Promise<T>) => Promise<T | null>;

/** A racer against `stop`: resolves with the value, or with null once `stop` has settled. */
export function raceAgainst(stop: Promise<unknown>): StopRace {
  let stopped = false;
  const listeners = new Set<() => void>();
  const settle = () => {
    stopped = true;
    for (const listener of listeners) listener();
    listeners.clear();
  };
  void stop.then(settle, settle);
  return <T>(value: Promise<T>) =>
    new Promise<T | null>((resolve, reject) => {
      if (stopped) return resolve(null);
      const onStop = () => resolve(null);
      listeners.add(onStop);
      value.then(
        (result) => {
          listeners.delete(onStop);
          resolve(result);
        },
        (error: unknown) => {
          listeners.delete(onStop);
          reject(error);
        },
      );
    });
}
