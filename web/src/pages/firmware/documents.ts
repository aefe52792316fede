import { ErrorFields } from '../../api/error-fields';
import { graphql } from '../../api/graphql';

export const FirmwareFields = graphql(`
  fragment FirmwareFields on Firmware {
    id
    name
    version
    signMethod
    sign
    size
    fileName
    description
    requireVerification
    verified
    verifiedAt
    minSuccessForVerified
    createdAt
    usedByJobs
    product { id productKey name }
  }
`);

export const FirmwarePageQuery = graphql(
  `
  query FirmwarePage($productKey: String, $first: Int, $after: String, $last: Int, $before: String) {
    products { id productKey name deviceCount }
    firmwares(productKey: $productKey, first: $first, after: $after, last: $last, before: $before) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      nodes { ...FirmwareFields }
    }
  }
`,
  [FirmwareFields],
);

export const UploadFirmwareMutation = graphql(
  `
  mutation UploadFirmware($input: UploadFirmwareInput!) {
    uploadFirmware(input: $input) {
      ... on MutationUploadFirmwareSuccess { data { ...FirmwareFields } }
      ...ErrorFields
    }
  }
`,
  [FirmwareFields, ErrorFields],
);

export const DeleteFirmwareMutation = graphql(
  `
  mutation DeleteFirmware($id: ID!) {
    deleteFirmware(id: $id) {
      ... on MutationDeleteFirmwareSuccess { data { id deleted } }
      ...ErrorFields
    }
  }
`,
  [ErrorFields],
);

export const CreateVerificationJobMutation = graphql(
  `
  mutation CreateVerificationJob($input: CreateVerificationJobInput!) {
    createVerificationJob(input: $input) {
      ... on MutationCreateVerificationJobSuccess { data { id name } }
      ...ErrorFields
    }
  }
`,
  [ErrorFields],
);

export const CreateUpgradeJobMutation = graphql(
  `
  mutation CreateUpgradeJob($input: CreateUpgradeJobInput!) {
    createUpgradeJob(input: $input) {
      ... on MutationCreateUpgradeJobSuccess { data { id name deviceCount } }
      ...ErrorFields
    }
  }
`,
  [ErrorFields],
);

/** Devices to choose from when verifying firmware. */
export const PickDevicesQuery = graphql(`
  query PickDevices($productKey: String!, $search: String) {
    devices(productKey: $productKey, search: $search, first: 20) {
      totalCount
      nodes { id deviceKey name online firmwareVersion }
    }
  }
`);

/** What createUpgradeJob would target with this input, per wave (nothing is created). */
export const PreviewUpgradeJobQuery = graphql(
  `
  query PreviewUpgradeJob($input: CreateUpgradeJobInput!) {
    previewUpgradeJob(input: $input, sampleSize: 5) {
      ... on QueryPreviewUpgradeJobSuccess {
        data { deviceCount notFoundCount seed sampleDeviceKeys waves { index name deviceCount sampleDeviceKeys } }
      }
      ...ErrorFields
    }
  }
`,
  [ErrorFields],
);
