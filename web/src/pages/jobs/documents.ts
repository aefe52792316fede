import { graphql } from '../../api/graphql';

/** The live numbers of a job: what its progress bar and tab counts show. */
export const JobLiveFields = graphql(`
  fragment JobLiveFields on OtaJob {
    id
    status
    statusReason
    progress
    deviceCount
    statusCounts { toBePushed pushed inProgress succeeded failed }
    updatedAt
  }
`);

export const JobsQuery = graphql(
  `
  query Jobs(
    $productKey: String
    $type: OtaJobType
    $status: OtaJobStatus
    $search: String
    $first: Int
    $after: String
    $last: Int
    $before: String
  ) {
    products { id productKey name }
    jobs(productKey: $productKey, type: $type, status: $status, search: $search, first: $first, after: $after, last: $last, before: $before) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      nodes {
        id
        name
        type
        createdAt
        product { id productKey name }
        firmware { id name version }
        schedule { timezone }
        ...JobLiveFields
      }
    }
  }
`,
  [JobLiveFields],
);

/** Every change of status or progress of the unit's jobs: keeps the list's progress bars live. */
export const JobsUpdatedSubscription = graphql(
  `
  subscription JobsUpdated($productKey: String) {
    jobsUpdated(productKey: $productKey) { ...JobLiveFields }
  }
`,
  [JobLiveFields],
);
