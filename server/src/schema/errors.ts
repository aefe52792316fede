/**
 * Expected errors as typed results (Pothos errors plugin): every one implements `Error`, so a
 * client can always ask `... on Error { message code }` and add fragments for the details it uses.
 */
import { builder } from '../builder.js';
import {
  AlreadyExistsError,
  type DomainError,
  FileTooLargeError,
  FirmwareInUseError,
  FirmwareNotVerifiedError,
  InvalidInputError,
  InvalidJobStateError,
  JobNotEditableError,
  NotFoundError,
  SignMismatchError,
} from '../domain/errors.js';

export const ErrorInterface = builder.interfaceRef<DomainError>('Error').implement({
  description: 'An expected failure. Nothing was changed.',
  fields: (t) => ({
    message: t.exposeString('message'),
    code: t.exposeString('code', { description: 'A stable machine-readable code, e.g. NOT_FOUND.' }),
  }),
});

const InputIssue = builder.objectRef<{ path: string[]; message: string }>('InputIssue').implement({
  fields: (t) => ({
    path: t.exposeStringList('path', { description: 'Path of the offending input field.' }),
    message: t.exposeString('message'),
  }),
});

builder.objectType(InvalidInputError, {
  name: 'InvalidInputError',
  interfaces: [ErrorInterface],
  fields: (t) => ({ issues: t.field({ type: [InputIssue], resolve: (e) => e.issues }) }),
});

builder.objectType(NotFoundError, {
  name: 'NotFoundError',
  interfaces: [ErrorInterface],
  fields: (t) => ({ resource: t.exposeString('resource'), reference: t.exposeString('reference') }),
});

builder.objectType(AlreadyExistsError, {
  name: 'AlreadyExistsError',
  interfaces: [ErrorInterface],
  fields: (t) => ({ resource: t.exposeString('resource'), field: t.exposeString('field'), value: t.exposeString('value') }),
});

builder.objectType(FileTooLargeError, {
  name: 'FileTooLargeError',
  interfaces: [ErrorInterface],
  fields: (t) => ({ maxBytes: t.float({ resolve: (e) => e.maxBytes }) }),
});

builder.objectType(SignMismatchError, {
  name: 'SignMismatchError',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    signMethod: t.exposeString('signMethod'),
    expected: t.exposeString('expected', { description: 'The sign given with the upload.' }),
    actual: t.exposeString('actual', { description: "The file's digest." }),
  }),
});

builder.objectType(FirmwareInUseError, {
  name: 'FirmwareInUseError',
  interfaces: [ErrorInterface],
  fields: (t) => ({ jobNames: t.exposeStringList('jobNames') }),
});

builder.objectType(FirmwareNotVerifiedError, {
  name: 'FirmwareNotVerifiedError',
  interfaces: [ErrorInterface],
  fields: (t) => ({ firmwareName: t.exposeString('firmwareName') }),
});

const RefusedField = builder.objectRef<{ field: string; reason: string }>('RefusedField').implement({
  fields: (t) => ({ field: t.exposeString('field'), reason: t.exposeString('reason') }),
});

builder.objectType(JobNotEditableError, {
  name: 'JobNotEditableError',
  interfaces: [ErrorInterface],
  fields: (t) => ({ refusedFields: t.field({ type: [RefusedField], resolve: (e) => e.refused }) }),
});

builder.objectType(InvalidJobStateError, {
  name: 'InvalidJobStateError',
  interfaces: [ErrorInterface],
  fields: (t) => ({ action: t.exposeString('action'), status: t.exposeString('status') }),
});
