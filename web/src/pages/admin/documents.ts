import { ErrorFields } from '../../api/error-fields';
import { graphql } from '../../api/graphql';

export const RoleFields = graphql(`
  fragment RoleFields on Role {
    id
    name
    description
    permissions
    updatedAt
  }
`);

export const TokenFields = graphql(`
  fragment TokenFields on ApiToken {
    id
    name
    permissions
    expiresAt
    lastUsedAt
    createdAt
    revokedAt
    active
  }
`);

export const UsersQuery = graphql(
  `
  query AdminUsers {
    users {
      id
      username
      displayName
      disabled
      hasPassword
      lastSignInAt
      createdAt
      permissions
      roles { id name }
    }
    roles { ...RoleFields }
  }
`,
  [RoleFields],
);

export const RolesQuery = graphql(
  `
  query AdminRoles {
    roles { ...RoleFields users { id username } }
  }
`,
  [RoleFields],
);

export const TokensQuery = graphql(
  `
  query AdminTokens($includeInactive: Boolean) {
    users {
      id
      username
      displayName
      disabled
      permissions
      apiTokens(includeInactive: $includeInactive) { ...TokenFields }
    }
  }
`,
  [TokenFields],
);

export const CreateUserMutation = graphql(
  `
  mutation AdminCreateUser($input: CreateUserInput!) {
    createUser(input: $input) {
      ... on MutationCreateUserSuccess { data { id username } }
      ...ErrorFields
    }
  }
`,
  [ErrorFields],
);

export const UpdateUserMutation = graphql(
  `
  mutation AdminUpdateUser($input: UpdateUserInput!) {
    updateUser(input: $input) {
      ... on MutationUpdateUserSuccess { data { id disabled displayName } }
      ...ErrorFields
    }
  }
`,
  [ErrorFields],
);

export const SetUserPasswordMutation = graphql(
  `
  mutation AdminSetUserPassword($input: SetUserPasswordInput!) {
    setUserPassword(input: $input) {
      ... on MutationSetUserPasswordSuccess { data { id hasPassword } }
      ...ErrorFields
    }
  }
`,
  [ErrorFields],
);

export const SetUserRolesMutation = graphql(
  `
  mutation AdminSetUserRoles($input: SetUserRolesInput!) {
    setUserRoles(input: $input) {
      ... on MutationSetUserRolesSuccess { data { id } }
      ...ErrorFields
    }
  }
`,
  [ErrorFields],
);

export const CreateRoleMutation = graphql(
  `
  mutation AdminCreateRole($input: CreateRoleInput!) {
    createRole(input: $input) {
      ... on MutationCreateRoleSuccess { data { id } }
      ...ErrorFields
    }
  }
`,
  [ErrorFields],
);

export const UpdateRoleMutation = graphql(
  `
  mutation AdminUpdateRole($input: UpdateRoleInput!) {
    updateRole(input: $input) {
      ... on MutationUpdateRoleSuccess { data { id } }
      ...ErrorFields
    }
  }
`,
  [ErrorFields],
);

export const DeleteRoleMutation = graphql(
  `
  mutation AdminDeleteRole($id: ID!) {
    deleteRole(id: $id) {
      ... on MutationDeleteRoleSuccess { data { id } }
      ...ErrorFields
    }
  }
`,
  [ErrorFields],
);

export const CreateTokenMutation = graphql(
  `
  mutation AdminCreateToken($input: CreateApiTokenInput!) {
    createApiToken(input: $input) {
      ... on MutationCreateApiTokenSuccess { data { token apiToken { id name } } }
      ...ErrorFields
    }
  }
`,
  [ErrorFields],
);

export const RevokeTokenMutation = graphql(
  `
  mutation AdminRevokeToken($id: ID!) {
    revokeApiToken(id: $id) {
      ... on MutationRevokeApiTokenSuccess { data { id revokedAt } }
      ...ErrorFields
    }
  }
`,
  [ErrorFields],
);

export const AuditEventsQuery = graphql(`
  query AuditEvents(
    $actions: [AuditAction!]
    $search: String
    $since: DateTime
    $until: DateTime
    $first: Int
    $after: String
    $last: Int
    $before: String
  ) {
    auditEvents(actions: $actions, search: $search, since: $since, until: $until, first: $first, after: $after, last: $last, before: $before) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      nodes {
        id
        at
        action
        actionText
        actorName
        targetType
        targetId
        targetName
        summary
        details
        clientAddress
        credentialKind
        credentialName
      }
    }
  }
`);
