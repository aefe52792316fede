/** A search box that updates its value after the operator pauses typing (one request, not one per key). */
import { createEffect, on, onCleanup, createSignal } from 'solid-js';

export function SearchInput(props: { value: string | undefined; onSearch: (value: string) => void; placeholder: string; label: string; testId?: string }) {
  const [text, setText] = createSignal(props.value ?? '');
  createEffect(
    on(
      () => props.value,
      (v) => setText(v ?? ''),
      { defer: true },
    ),
  );
  let timer: ReturnType<typeof setTimeout> | undefined;
  onCleanup(() => clearTimeout(timer));
  const commit = (value: string) => {
    clearTimeout(timer);
    if (value !== (props.value ?? '')) props.onSearch(value.trim());
  };
  return (
    <input
      type="search"
      class="input search"
      aria-label={props.label}
      placeholder={props.placeholder}
      data-testid={props.testId}
      value={text()}
      onInput={(e) => {
        const value = e.currentTarget.value;
        setText(value);
        clearTimeout(timer);
        timer = setTimeout(() => commit(value), 350);
      }}
      onKeyDown={(e) => e.key === 'Enter' && commit(e.currentTarget.value)}
    />
  );
}
