import { graphql } from '../../api/graphql';
import { ErrorFields } from '../../api/error-fields';
import { JobLiveFields } from '../jobs/documents';

/** The settings the edit forms start from. */
export const JobSettingsFields = graphql(`
  fragment JobSettingsFields on OtaJob {
    id
    type
    timeoutMinutes
    maxConcurrency
    srcVersions
    policy
    pushRatePerMinute
    scope { allDevices deviceKeys srcVersions tags { key value } }
    retry { count intervalMinutes }
    schedule { startAt endAt dailyWindowStart dailyWindowEnd timezone }
    abortThreshold { percent minFinished }
  }
`);

/** The phased rollout: the stepper's waves with live counts, the abort gauge and the decisions. */
export const JobWaveFields = graphql(`
  fragment JobWaveFields on OtaJob {
    id
    rollout {
      seed
      randomOrder
      activeWave
      nextWaveWaitsFor
      decisions { wave kind actor reason decidedAt }
    }
    waves {
      index
      name
      status
      active
      deviceCount
      progress
      successPercent
      successThresholdPercent
      errorThreshold { percent minFinished }
      soakMinutes
      soakEndsAt
      approvalRequired
      approvedBy
      startedAt
      finishedAt
      statusCounts { toBePushed pushed inProgress succeeded failed }
      abortGauge { failedPercent worstCasePercent thresholdPercent minFinished finished inFlight crossed wouldCross }
    }
  }
`);

/** Everything the details page shows about the job itself; jobProgress refreshes all of it live. */
export const JobDetailFields = graphql(
  `
  fragment JobDetailFields on OtaJob {
    id
    name
    type
    createdAt
    startedAt
    finishedAt
    product { id productKey name }
    firmware { id name version }
    editable
    editableFields
    notEditableReason
    failureReasonCounts { reason count }
    edits { editedAt editedBy changes { field from to } }
    schedule { timezone }
    ...JobLiveFields
    ...JobSettingsFields
    ...JobWaveFields
  }
`,
  [JobLiveFields, JobSettingsFields, JobWaveFields],
);

export const JobDetailsQuery = graphql(
  `
  query JobDetails($id: ID!) {
    job(id: $id) { ...JobDetailFields }
  }
`,
  [JobDetailFields],
);

export const JobProgressHistoryQuery = graphql(`
  query JobProgressHistory($id: ID!, $points: Int!) {
    job(id: $id) {
      id
      deviceCount
      progressHistory(points: $points) { at succeeded failed }
    }
  }
`);

export const JobDetailsSubscription = graphql(
  `
  subscription JobDetailsLive($jobId: ID!) {
    jobProgress(jobId: $jobId) { ...JobDetailFields }
  }
`,
  [JobDetailFields],
);

/** One row of the device table. */
export const JobDeviceRow = graphql(`
  fragment JobDeviceRow on JobDevice {
    id
    deviceKey
    attempt
    status
    progress
    failureReason
    failureReasonText
    failureDetail
    waitingReason
    currentVersion
    wave
    pushedAt
    failedAt
    updatedAt
  }
`);

/** The current state of rows that left the tab (the subscription named only their keys). */
export const CurrentDeviceRowsQuery = graphql(
  `
  query CurrentDeviceRows($ids: [ID!]!) {
    nodes(ids: $ids) {
      __typename
      ... on JobDevice { ...JobDeviceRow }
    }
  }
`,
  [JobDeviceRow],
);

export const JobDevicesQuery = graphql(
  `
  query JobDevices(
    $id: ID!
    $status: UpgradeStatus
    $deviceKey: String
    $currentVersion: String
    $failureReason: FailureReason
    $failedAfter: DateTime
    $failedBefore: DateTime
    $wave: Int
    $first: Int
    $after: String
    $last: Int
    $before: String
  ) {
    job(id: $id) {
      id
      devices(
        status: $status
        deviceKey: $deviceKey
        currentVersion: $currentVersion
        failureReason: $failureReason
        failedAfter: $failedAfter
        failedBefore: $failedBefore
        wave: $wave
        first: $first
        after: $after
        last: $last
        before: $before
      ) {
        totalCount
        changeCursor
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        nodes { ...JobDeviceRow }
      }
    }
  }
`,
  [JobDeviceRow],
);

export const JobDeviceUpdatesSubscription = graphql(
  `
  subscription JobDeviceUpdates($jobId: ID!, $status: UpgradeStatus, $failureReason: FailureReason, $wave: Int, $after: String) {
    jobDeviceUpdates(jobId: $jobId, status: $status, failureReason: $failureReason, wave: $wave, after: $after) {
      cursor
      devices { ...JobDeviceRow }
      otherDeviceKeys
      removedDeviceKeys
    }
  }
`,
  [JobDeviceRow],
);

export const CancelUpgradeMutation = graphql(
  `
  mutation CancelUpgrade($input: CancelUpgradeInput!) {
    cancelUpgrade(input: $input) {
      ... on MutationCancelUpgradeSuccess {
        data {
          cancelled { ...JobDeviceRow }
          notCancelled { deviceKey reason message }
        }
      }
      ...ErrorFields
    }
  }
`,
  [JobDeviceRow, ErrorFields],
);

export const RetryUpgradeMutation = graphql(
  `
  mutation RetryUpgrade($input: RetryUpgradeInput!) {
    retryUpgrade(input: $input) {
      ... on MutationRetryUpgradeSuccess {
        data {
          retriedCount
          notRetried { deviceKey reason message }
        }
      }
      ...ErrorFields
    }
  }
`,
  [ErrorFields],
);

export const StopJobMutation = graphql(
  `
  mutation StopJob($id: ID!) {
    stopJob(id: $id) {
      ... on MutationStopJobSuccess { data { ...JobLiveFields } }
      ...ErrorFields
    }
  }
`,
  [JobLiveFields, ErrorFields],
);

export const StartJobMutation = graphql(
  `
  mutation StartJob($id: ID!) {
    startJob(id: $id) {
      ... on MutationStartJobSuccess { data { ...JobLiveFields } }
      ...ErrorFields
    }
  }
`,
  [JobLiveFields, ErrorFields],
);

export const CancelJobMutation = graphql(
  `
  mutation CancelJob($id: ID!) {
    cancelJob(id: $id) {
      ... on MutationCancelJobSuccess { data { ...JobLiveFields } }
      ...ErrorFields
    }
  }
`,
  [JobLiveFields, ErrorFields],
);

export const EditJobMutation = graphql(
  `
  mutation EditJob($input: EditJobInput!) {
    editJob(input: $input) {
      ... on MutationEditJobSuccess {
        data {
          changedFields
          devicesAdded
          devicesRemoved
          job { ...JobDetailFields }
        }
      }
      ...ErrorFields
    }
  }
`,
  [JobDetailFields, ErrorFields],
);

export type JobDetail = import('gql.tada').ResultOf<typeof JobDetailFields>;

export const ApproveNextWaveMutation = graphql(
  `
  mutation ApproveNextWave($id: ID!, $wave: Int) {
    approveNextWave(jobId: $id, wave: $wave) {
      ... on MutationApproveNextWaveSuccess { data { ...JobLiveFields } }
      ...ErrorFields
    }
  }
`,
  [JobLiveFields, ErrorFields],
);
