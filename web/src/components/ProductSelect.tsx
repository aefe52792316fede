/** The product filter of list pages; with `allLabel`, an option for every product. */
import { For, Show } from 'solid-js';

export function ProductSelect(props: {
  products: readonly { productKey: string; name: string }[];
  value: string | undefined;
  onChange: (productKey: string) => void;
  allLabel?: string;
  showKey?: boolean;
}) {
  return (
    <select class="input" aria-label="Product" value={props.value ?? ''} onChange={(e) => props.onChange(e.currentTarget.value)}>
      <Show when={props.allLabel}>
        <option value="">{props.allLabel}</option>
      </Show>
      <For each={props.products}>
        {(p) => (
          // `selected` too: the products arrive after the select got its value from the URL.
          <option value={p.productKey} selected={p.productKey === props.value}>
            {p.name}
            {props.showKey ? ` (${p.productKey})` : ''}
          </option>
        )}
      </For>
    </select>
  );
}
