/**
 * What a polite live region says about numbers that change many times a second: at once when the
 * `key` (a status) changes, otherwise at most every `everyMs`, so a screen reader is told without
 * being flooded.
 */
import { createEffect, createSignal, on, onCleanup, type Accessor } from 'solid-js';

export function createAnnouncement(key: Accessor<string | null>, text: Accessor<string>, everyMs = 15_000): Accessor<string> {
  const [said, setSaid] = createSignal('');
  let last = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  onCleanup(() => clearTimeout(timer));
  createEffect(
    on(key, () => {
      clearTimeout(timer);
      timer = undefined;
      last = Date.now();
      setSaid(text());
    }),
  );
  createEffect(
    on(
      text,
      () => {
        if (timer) return;
        const wait = Math.max(0, last + everyMs - Date.now());
        timer = setTimeout(() => {
          timer = undefined;
          last = Date.now();
          setSaid(text());
        }, wait);
      },
      { defer: true },
    ),
  );
  return said;
}
