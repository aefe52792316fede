import { graphql } from '../../api/graphql';

export const DevicesQuery = graphql(`
  query Devices($productKey: String, $search: String, $online: Boolean, $first: Int, $after: String, $last: Int, $before: String) {
    products { id productKey name }
    devices(productKey: $productKey, search: $search, online: $online, first: $first, after: $after, last: $last, before: $before) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      nodes {
        id
        deviceKey
        name
        online
        lastSeenAt
        firmwareVersion
        product { id name productKey }
        tags { key value }
      }
    }
  }
`);
