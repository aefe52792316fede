import { ErrorFields } from '../../api/error-fields';
import { graphql } from '../../api/graphql';

export const WebhookEndpointFields = graphql(`
  fragment WebhookEndpointFields on WebhookEndpoint {
    id
    name
    url
    eventTypes
    enabled
    status
    disabledAt
    disabledReason
    consecutiveFailures
    failingSince
    lastSuccessAt
    lastFailureAt
    pausedUntil
    pendingDeliveries
    previousSecretExpiresAt
    createdAt
    product { id productKey name }
    job { id name }
  }
`);

export const WebhookDeliveryFields = graphql(`
  fragment WebhookDeliveryFields on WebhookDelivery {
    id
    eventType
    status
    trigger
    attempts
    responseStatus
    latencyMs
    error
    messageId
    occurredAt
    createdAt
    deliveredAt
    lastAttemptAt
    nextAttemptAt
  }
`);

export const WebhookEndpointsQuery = graphql(
  `
  query AdminWebhookEndpoints {
    webhookEndpoints { ...WebhookEndpointFields }
    webhookEventTypes { name description }
  }
`,
  [WebhookEndpointFields],
);

export const WebhookEndpointQuery = graphql(
  `
  query AdminWebhookEndpoint($id: ID!, $status: WebhookDeliveryStatus, $eventType: String, $first: Int) {
    node(id: $id) {
      ... on WebhookEndpoint {
        ...WebhookEndpointFields
        deliveries(status: $status, eventType: $eventType, first: $first) {
          totalCount
          hasNextPage
          endCursor
          nodes { ...WebhookDeliveryFields }
        }
      }
    }
    webhookEventTypes { name description }
  }
`,
  [WebhookEndpointFields, WebhookDeliveryFields],
);

export const WebhookDeliveryDetailsQuery = graphql(`
  query AdminWebhookDelivery($id: ID!) {
    node(id: $id) {
      ... on WebhookDelivery {
        id
        payload
        attemptLog { attemptedAt responseStatus latencyMs error responseBody }
      }
    }
  }
`);

/** The products and jobs an endpoint may be filtered to (only asked of callers who may read them). */
export const WebhookProductsQuery = graphql(`
  query AdminWebhookProducts {
    products { id productKey name }
  }
`);

export const WebhookJobsQuery = graphql(`
  query AdminWebhookJobs($productKey: String) {
    jobs(productKey: $productKey, first: 100) { nodes { id name } }
  }
`);

export const CreateWebhookMutation = graphql(
  `
  mutation AdminCreateWebhook($input: CreateWebhookEndpointInput!) {
    createWebhookEndpoint(input: $input) {
      ... on MutationCreateWebhookEndpointSuccess { data { secret endpoint { id name } } }
      ...ErrorFields
    }
  }
`,
  [ErrorFields],
);

export const UpdateWebhookMutation = graphql(
  `
  mutation AdminUpdateWebhook($input: UpdateWebhookEndpointInput!) {
    updateWebhookEndpoint(input: $input) {
      ... on MutationUpdateWebhookEndpointSuccess { data { ...WebhookEndpointFields } }
      ...ErrorFields
    }
  }
`,
  [ErrorFields, WebhookEndpointFields],
);

export const DeleteWebhookMutation = graphql(
  `
  mutation AdminDeleteWebhook($id: ID!) {
    deleteWebhookEndpoint(id: $id) {
      ... on MutationDeleteWebhookEndpointSuccess { data { id name } }
      ...ErrorFields
    }
  }
`,
  [ErrorFields],
);

export const RotateWebhookSecretMutation = graphql(
  `
  mutation AdminRotateWebhookSecret($input: RotateWebhookSecretInput!) {
    rotateWebhookSecret(input: $input) {
      ... on MutationRotateWebhookSecretSuccess { data { secret endpoint { id previousSecretExpiresAt } } }
      ...ErrorFields
    }
  }
`,
  [ErrorFields],
);

export const SendTestWebhookMutation = graphql(
  `
  mutation AdminSendTestWebhook($id: ID!) {
    sendTestWebhook(id: $id) {
      ... on MutationSendTestWebhookSuccess { data { id } }
      ...ErrorFields
    }
  }
`,
  [ErrorFields],
);

export const RedeliverWebhookMutation = graphql(
  `
  mutation AdminRedeliverWebhook($id: ID!) {
    redeliverWebhook(id: $id) {
      ... on MutationRedeliverWebhookSuccess { data { id } }
      ...ErrorFields
    }
  }
`,
  [ErrorFields],
);

export const ReplayWebhookEventsMutation = graphql(
  `
  mutation AdminReplayWebhookEvents($input: ReplayWebhookEventsInput!) {
    replayWebhookEvents(input: $input) {
      ... on MutationReplayWebhookEventsSuccess { data { deliveriesQueued } }
      ...ErrorFields
    }
  }
`,
  [ErrorFields],
);
