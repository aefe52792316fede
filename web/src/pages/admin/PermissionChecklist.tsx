/** Permission checkboxes, each with what it allows (the role form, the token form). */
import { For } from 'solid-js';
import { PERMISSION_MEANINGS, PERMISSIONS, type Permission } from '../../labels';

export function PermissionChecklist(props: {
  selected: readonly Permission[];
  onChange: (permissions: Permission[]) => void;
  /** Permissions that cannot be chosen here (e.g. more than a token's owner has). */
  allowed?: readonly Permission[];
  name: string;
  invalid?: boolean;
  describedBy?: string;
}) {
  const toggle = (p: Permission, on: boolean) => props.onChange(PERMISSIONS.filter((q) => (q === p ? on : props.selected.includes(q))));
  return (
    <fieldset class="permission-list" aria-invalid={props.invalid ? 'true' : undefined} aria-describedby={props.describedBy}>
      <legend class="field-label">Permissions</legend>
      <For each={PERMISSIONS}>
        {(p) => {
          const disabled = () => !!props.allowed && !props.allowed.includes(p);
          return (
            <label class="permission-option" classList={{ disabled: disabled() }}>
              <input
                type="checkbox"
                name={props.name}
                value={p}
                checked={props.selected.includes(p)}
                disabled={disabled()}
                onChange={(e) => toggle(p, e.currentTarget.checked)}
                aria-describedby={`${props.name}-${p}-meaning`}
              />
              <span>
                <code class="permission-name">{p}</code>
                <span class="permission-meaning" id={`${props.name}-${p}-meaning`}>
                  {PERMISSION_MEANINGS[p]}
                  {disabled() ? ' (not available: the token’s owner does not have it)' : ''}
                </span>
              </span>
            </label>
          );
        }}
      </For>
    </fieldset>
  );
}
