import { graphql } from '../../api/graphql';

/** Everything the device page shows; the subscription sends it again whenever it may have changed. */
export const DevicePageFields = graphql(`
  fragment DevicePageFields on Device {
    id
    deviceKey
    name
    firmwareVersion
    online
    lastSeenAt
    createdAt
    tags { key value }
    product { id productKey name }
    upgradeHistory(first: $historySize) @include(if: $withHistory) {
      pageInfo { hasNextPage }
      nodes {
        job { id status }
        jobName
        jobType
        firmwareName
        fromVersion
        toVersion
        currentVersion
        attempt
        status
        progress
        failureReason
        failureReasonText
        failureDetail
        pushedAt
        finishedAt
        updatedAt
        durationSeconds
      }
    }
  }
`);

export const DevicePageQuery = graphql(
  `
  query DevicePage($productKey: String!, $deviceKey: String!, $withHistory: Boolean!, $historySize: Int!) {
    device(productKey: $productKey, deviceKey: $deviceKey) { ...DevicePageFields }
  }
`,
  [DevicePageFields],
);

export const DevicePageSubscription = graphql(
  `
  subscription DevicePageLive($productKey: String!, $deviceKey: String!, $withHistory: Boolean!, $historySize: Int!) {
    deviceUpdated(productKey: $productKey, deviceKey: $deviceKey) { ...DevicePageFields }
  }
`,
  [DevicePageFields],
);
