/**
 * Expected failures of domain functions. They know nothing of GraphQL: the schema registers each
 * class as a typed error result (see schema/errors.ts), and yoga's error masking turns the
 * authentication and permission errors into GraphQL errors with extensions.code.
 */
import type { Permission } from '../db/schema.js';

export abstract class DomainError extends Error {
  abstract readonly code: string;
  /** Carried into a GraphQL error's extensions when one of these escapes a typed result. */
  get extensions(): Record<string, unknown> {
    return { code: this.code };
  }
}

export interface InputIssue {
  /** Path of the offending input field, e.g. ['input', 'deviceKeys', '5']. */
  path: string[];
  message: string;
}

/** The input breaks a rule (range, length, format, combination). Nothing was changed. */
export class InvalidInputError extends DomainError {
  readonly code = 'INVALID_INPUT';
  constructor(readonly issues: InputIssue[]) {
    super(issues.map((issue) => (issue.path.length ? `${issue.path.join('.')}: ` : '') + issue.message).join('; '));
  }
  static single(path: string[], message: string): InvalidInputError {
    return new InvalidInputError([{ path, message }]);
  }
}

/** The referenced thing does not exist in the caller's organisation unit (or not at all). */
export class NotFoundError extends DomainError {
  readonly code = 'NOT_FOUND';
  constructor(
    readonly resource: string,
    readonly reference: string,
  ) {
    super(`${resource} ${JSON.stringify(reference)} was not found`);
  }
}

/** A unique name/key/version is already taken. */
export class AlreadyExistsError extends DomainError {
  readonly code = 'ALREADY_EXISTS';
  constructor(
    readonly resource: string,
    readonly field: string,
    readonly value: string,
  ) {
    super(`A ${resource} with ${field} ${JSON.stringify(value)} already exists`);
  }
}

export class FileTooLargeError extends DomainError {
  readonly code = 'FILE_TOO_LARGE';
  constructor(readonly maxBytes: number) {
    super(`The firmware file is larger than the limit of ${maxBytes} bytes`);
  }
}

export class SignMismatchError extends DomainError {
  readonly code = 'SIGN_MISMATCH';
  constructor(
    readonly signMethod: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`The file's ${signMethod} is ${actual}, not the given sign ${expected}`);
  }
}

export class FirmwareInUseError extends DomainError {
  readonly code = 'FIRMWARE_IN_USE';
  constructor(readonly jobNames: string[]) {
    super(`The firmware is used by jobs with unfinished tasks: ${jobNames.join(', ')}`);
  }
}

export class FirmwareNotVerifiedError extends DomainError {
  readonly code = 'FIRMWARE_NOT_VERIFIED';
  constructor(readonly firmwareName: string) {
    super(`Firmware ${JSON.stringify(firmwareName)} requires verification and is not verified yet: run a verification job first`);
  }
}

export interface RefusedField {
  field: string;
  reason: string;
}

/** An edit asked to change fields that cannot change; nothing was changed. */
export class JobNotEditableError extends DomainError {
  readonly code = 'JOB_NOT_EDITABLE';
  constructor(readonly refused: RefusedField[]) {
    super(`These fields cannot be changed: ${refused.map((r) => `${r.field} (${r.reason})`).join('; ')}`);
  }
}

/** The job's status does not allow the action (e.g. start a cancelled job). */
export class InvalidJobStateError extends DomainError {
  readonly code = 'INVALID_JOB_STATE';
  constructor(
    readonly action: string,
    readonly status: string,
  ) {
    super(`Cannot ${action} a job that is ${status}`);
  }
}

/** The caller is not signed in. Becomes a GraphQL error with extensions.code UNAUTHENTICATED. */
export class NotAuthenticatedError extends DomainError {
  readonly code = 'UNAUTHENTICATED';
  constructor(message = 'Sign in first: send a valid API token as "Authorization: Bearer <token>"') {
    super(message);
  }
}

/** The caller lacks a permission. Becomes a GraphQL error with extensions.code FORBIDDEN. */
export class PermissionDeniedError extends DomainError {
  readonly code = 'FORBIDDEN';
  constructor(readonly permission: Permission) {
    super(`You lack the ${permission} permission. Ask your organisation unit's administrator to grant it to you.`);
  }
  override get extensions(): Record<string, unknown> {
    return { code: this.code, permission: this.permission };
  }
}
