/** Imports every type module and builds the schema. */
import { lexicographicSortSchema } from 'graphql';
import { builder } from '../builder.js';
import './scalars.js';
import './errors.js';
import './enums.js';
import './product.js';
import './device.js';
import './device-history.js';
import './firmware.js';
import './job-fields.js';
import './job.js';
import './job-inputs.js';
import './job-payloads.js';
import './job-mutations.js';
import './job-subscriptions.js';
import './job-waves.js';
import './job-preview.js';
import './job-device.js';
import './job-device-connection.js';
import './job-device-inputs.js';
import './job-device-payloads.js';
import './job-device-mutations.js';
import './job-device-updates.js';
import './auth-errors.js';
import './role.js';
import './api-token.js';
import './user.js';
import './me.js';
import './webhook.js';
import './trusted-document.js';
import './audit-event.js';

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});

/** The executable schema. */
export const schema = builder.toSchema();

/** The same schema with types and fields sorted, as printed to schema.graphql. */
export const sortedSchema = lexicographicSortSchema(schema);
