import { defineRelations } from 'drizzle-orm';
import * as schema from './schema.js';

export const relations = defineRelations(schema, (r) => ({
  organisationUnits: {
    users: r.many.users(),
    roles: r.many.roles(),
    products: r.many.products(),
  },
  users: {
    ou: r.one.organisationUnits({ from: r.users.ouId, to: r.organisationUnits.id, optional: false }),
    roles: r.many.roles({ from: r.users.id.through(r.userRoles.userId), to: r.roles.id.through(r.userRoles.roleId) }),
    apiTokens: r.many.apiTokens(),
  },
  roles: {
    ou: r.one.organisationUnits({ from: r.roles.ouId, to: r.organisationUnits.id, optional: false }),
    users: r.many.users({ from: r.roles.id.through(r.userRoles.roleId), to: r.users.id.through(r.userRoles.userId) }),
  },
  apiTokens: {
    user: r.one.users({ from: r.apiTokens.userId, to: r.users.id, optional: false }),
  },
  products: {
    ou: r.one.organisationUnits({ from: r.products.ouId, to: r.organisationUnits.id, optional: false }),
    devices: r.many.devices(),
    firmwares: r.many.firmwares(),
    jobs: r.many.otaJobs(),
  },
  devices: {
    product: r.one.products({ from: r.devices.productId, to: r.products.id, optional: false }),
    tasks: r.many.jobTasks(),
  },
  firmwares: {
    product: r.one.products({ from: r.firmwares.productId, to: r.products.id, optional: false }),
    jobs: r.many.otaJobs(),
  },
  otaJobs: {
    product: r.one.products({ from: r.otaJobs.productId, to: r.products.id, optional: false }),
    firmware: r.one.firmwares({ from: r.otaJobs.firmwareId, to: r.firmwares.id, optional: false }),
    createdByUser: r.one.users({ from: r.otaJobs.createdBy, to: r.users.id }),
    tasks: r.many.jobTasks(),
    edits: r.many.jobEdits(),
  },
  jobTasks: {
    job: r.one.otaJobs({ from: r.jobTasks.jobId, to: r.otaJobs.id, optional: false }),
    device: r.one.devices({ from: r.jobTasks.deviceId, to: r.devices.id }),
  },
  jobEdits: {
    job: r.one.otaJobs({ from: r.jobEdits.jobId, to: r.otaJobs.id, optional: false }),
  },
  auditEvents: {
    actor: r.one.users({ from: r.auditEvents.actorId, to: r.users.id }),
  },
  webhookEndpoints: {
    product: r.one.products({ from: r.webhookEndpoints.productId, to: r.products.id }),
    job: r.one.otaJobs({ from: r.webhookEndpoints.jobId, to: r.otaJobs.id }),
    deliveries: r.many.webhookDeliveries(),
  },
  webhookDeliveries: {
    endpoint: r.one.webhookEndpoints({ from: r.webhookDeliveries.endpointId, to: r.webhookEndpoints.id, optional: false }),
    event: r.one.webhookEvents({ from: r.webhookDeliveries.eventId, to: r.webhookEvents.id, optional: false }),
    attemptRows: r.many.webhookAttempts(),
  },
  webhookAttempts: {
    delivery: r.one.webhookDeliveries({ from: r.webhookAttempts.deliveryId, to: r.webhookDeliveries.id, optional: false }),
  },
}));
