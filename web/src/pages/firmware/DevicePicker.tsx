/** Choose up to `max` devices of a product by searching its fleet (the Verify dialog's device list). */
import { createQuery } from '@urql/solid';
import { createSignal, For, Show } from 'solid-js';
import { OnlineDot } from '../../components/Badges';
import { SearchInput } from '../../components/SearchInput';
import { PickDevicesQuery } from './documents';

export function DevicePicker(props: { productKey: string; max: number; selected: string[]; onChange: (keys: string[]) => void }) {
  const [search, setSearch] = createSignal('');
  const [devices] = createQuery({ query: PickDevicesQuery, variables: () => ({ productKey: props.productKey, search: search() || null }) });
  const toggle = (key: string, on: boolean) => props.onChange(on ? [...props.selected, key] : props.selected.filter((k) => k !== key));
  return (
    <div class="picker" data-testid="device-picker">
      <div class="picker-selected">
        <For each={props.selected} fallback={<span class="muted">No device chosen yet.</span>}>
          {(key) => (
            <span class="chip">
              {key}
              <button type="button" aria-label={`Remove ${key}`} onClick={() => toggle(key, false)}>
                ×
              </button>
            </span>
          )}
        </For>
        <span class="muted picker-count">
          {props.selected.length} / {props.max}
        </span>
      </div>
      <SearchInput label="Search devices" placeholder="Search device key or name" value={search()} onSearch={setSearch} />
      <div class="picker-list">
        <Show when={devices.data} fallback={<div class="muted">Loading devices…</div>}>
          <For each={devices.data!.devices.nodes} fallback={<div class="muted">No device matches.</div>}>
            {(d) => {
              const checked = () => props.selected.includes(d.deviceKey);
              return (
                <label class="picker-row">
                  <input
                    type="checkbox"
                    checked={checked()}
                    disabled={!checked() && props.selected.length >= props.max}
                    onChange={(e) => toggle(d.deviceKey, e.currentTarget.checked)}
                  />
                  <span class="mono">{d.deviceKey}</span>
                  <span class="muted">{d.firmwareVersion ?? 'unknown version'}</span>
                  <OnlineDot online={d.online} />
                </label>
              );
            }}
          </For>
        </Show>
      </div>
    </div>
  );
}
