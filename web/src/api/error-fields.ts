import { graphql } from './graphql';

/** The typed errors of every mutation's result union, with the details the console lists. */
export const ErrorFields = graphql(`
  fragment ErrorFields on Error {
    __typename
    message
    code
    ... on InvalidInputError { issues { path message } }
    ... on JobNotEditableError { refusedFields { field reason } }
    ... on FirmwareInUseError { jobNames }
  }
`);
