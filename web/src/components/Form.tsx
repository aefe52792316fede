/**
 * Forms: each error next to its field, in the operator's words, the field marked (aria-invalid,
 * described by its message), and the first bad field scrolled into view and focused. Errors come
 * from the form's own checks before anything is sent, and from the API's typed errors
 * (InvalidInputError issues and JobNotEditableError refused fields), mapped to the form's fields.
 */
import { Show, type JSX } from 'solid-js';
import type { ApiProblem } from '../api/outcome';

/** Form control name → message. */
export type FieldErrors = Record<string, string>;

/** Attributes that mark a control as invalid and point at its message. */
export function invalidProps(errors: FieldErrors, name: string) {
  const error = errors[name];
  return { 'aria-invalid': error ? ('true' as const) : undefined, 'aria-describedby': error ? `${name}-error` : undefined };
}

export function FieldError(props: { errors: FieldErrors; name: string }) {
  return (
    <Show when={props.errors[props.name]}>
      <span class="field-error" id={`${props.name}-error`} data-testid={`error-${props.name}`}>
        {props.errors[props.name]}
      </span>
    </Show>
  );
}

/** A labelled control with its hint and its error. */
export function Field(props: { label: string; name: string; errors: FieldErrors; hint?: string; children: JSX.Element; wide?: boolean }) {
  return (
    // biome-ignore lint/a11y/noLabelWithoutControl: the control is the label's child (props.children)
    <label class="field" classList={{ 'field-wide': props.wide, 'field-invalid': !!props.errors[props.name] }}>
      <span class="field-label">{props.label}</span>
      {props.children}
      <Show when={props.hint && !props.errors[props.name]}>
        <span class="field-hint">{props.hint}</span>
      </Show>
      <FieldError errors={props.errors} name={props.name} />
    </label>
  );
}

/** Scrolls the first invalid control of the form into view and focuses it (after the errors rendered). */
export function focusFirstError(container: HTMLElement | undefined): void {
  queueMicrotask(() =>
    requestAnimationFrame(() => {
      const first = container?.querySelector<HTMLElement>('[aria-invalid="true"]');
      if (!first) return;
      first.scrollIntoView({ block: 'center' });
      first.focus({ preventScroll: true });
    }),
  );
}

/** API names that leak into the API's messages, in the words of the console's forms. */
const API_WORDS: [RegExp, string][] = [
  [/\bdailyWindowStart\b/g, 'the start of the daily window'],
  [/\bdailyWindowEnd\b/g, 'the end of the daily window'],
  [/\bstartAt\b/g, 'the start'],
  [/\bendAt\b/g, 'the end'],
  [/\ballDevices: true\b/g, 'all devices of the product'],
  [/\ballDevices\b/g, 'all devices'],
  [/\bdeviceKeys\b/g, 'device keys'],
  [/\bsrcVersions\b/g, 'versions to upgrade'],
  [/\btimeoutMinutes\b/g, 'the timeout'],
  [/\bmaxConcurrency\b/g, 'the max concurrency'],
  [/\bfailedAfter\b/g, 'the start of the time range'],
  [/\bfailedBefore\b/g, 'the end of the time range'],
];

/** "must be between 1 and 100000" → "Must be between 1 and 100,000." */
export function operatorWords(message: string): string {
  let text = message.trim();
  for (const [pattern, words] of API_WORDS) text = text.replace(pattern, words);
  text = text.replace(/\b\d{5,}\b/g, (n) => Number(n).toLocaleString('en-US'));
  text = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

/**
 * The API's typed error as field errors. `fieldOf` maps an issue's input path (without the leading
 * "input") to a control name, or null for an error of the form as a whole. What maps to no field
 * is returned as `general`, so it is still shown (once, above the buttons).
 */
export function fieldErrorsOf(problem: ApiProblem, fieldOf: (path: readonly string[]) => string | null): { fields: FieldErrors; general: string[] } {
  const fields: FieldErrors = {};
  const general: string[] = [];
  const add = (field: string | null, message: string) => {
    if (field && !fields[field]) fields[field] = message;
    else if (!field) general.push(message);
  };
  for (const issue of problem.issues ?? []) {
    const path = issue.path[0] === 'input' ? issue.path.slice(1) : issue.path;
    const index = path.findIndex((p) => /^\d+$/.test(p));
    const prefix = index >= 0 ? `Entry ${Number(path[index]) + 1}: ` : '';
    add(fieldOf(path), prefix + operatorWords(issue.message));
  }
  for (const refused of problem.refused ?? []) add(fieldOf([refused.field]), operatorWords(refused.reason));
  if (Object.keys(fields).length === 0 && general.length === 0) general.push(operatorWords(problem.message));
  return { fields, general };
}

/** A whole number typed into a field, checked against a range; the message names the range. */
export function checkWholeNumber(text: string, min: number, max: number, options: { optional?: boolean; unit?: string } = {}): string | null {
  const trimmed = text.trim();
  if (trimmed === '') return options.optional ? null : 'Enter a number.';
  const n = Number(trimmed);
  const range = `${min.toLocaleString('en-US')} to ${max.toLocaleString('en-US')}${options.unit ? ` ${options.unit}` : ''}`;
  if (!Number.isInteger(n)) return `Enter a whole number from ${range}.`;
  if (n < min || n > max) return `Must be from ${range}.`;
  return null;
}
