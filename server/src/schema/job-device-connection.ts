/** OtaJob.devices: a job's devices, by tab and search, paged in device-key order, with counts. */
import { resolveCursorConnection, type ResolveCursorConnectionArgs } from '@pothos/plugin-relay';
import { getArgumentValues, GraphQLError, type GraphQLObjectType, type GraphQLResolveInfo, Kind, type SelectionSetNode } from 'graphql';
import { builder } from '../builder.js';
import type { GraphQLContext } from '../context.js';
import { InvalidInputError } from '../domain/errors.js';
import { wholeTabCount } from '../domain/loaders.js';
import { currentChangeSeq } from '../domain/tasks/changes.js';
import { countTasks, isWholeTab, normaliseTaskFilter, searchTasks, type Task, type TaskFilter } from '../domain/tasks/search.js';
import { DeviceKeyMatch, FailureReason, UpgradeStatus } from './enums.js';
import { JobDevice, taskColumnsSelected } from './job-device.js';
import { OtaJob } from './job.js';
import { keepPrefetched, registerPrefetcher, takePrefetched } from './prefetch.js';
import { assertPageSize, MAX_PAGE_SIZE, selectsField } from './support.js';

const jobDevicesArgs = builder.args((t) => ({
  status: t.field({ type: UpgradeStatus, description: 'The tab.' }),
  deviceKey: t.string({ description: 'Search text for the device key.' }),
  deviceKeyMatch: t.field({ type: DeviceKeyMatch, description: 'How deviceKey matches; default CONTAINS.' }),
  currentVersion: t.string({ description: 'Exact current firmware version.' }),
  failureReason: t.field({ type: FailureReason, description: 'Upgrade Failed tab only.' }),
  failedAfter: t.field({ type: 'DateTime', description: 'Failed at or after (inclusive). Upgrade Failed tab only.' }),
  failedBefore: t.field({ type: 'DateTime', description: 'Failed before (exclusive). Upgrade Failed tab only.' }),
  wave: t.int({ description: "Only the devices of this wave (OtaJob.waves' index)." }),
}));

type DevicesArgs = TaskFilter & { first?: number | null; last?: number | null; after?: string | null; before?: string | null };
type DevicesConnection = Awaited<ReturnType<typeof resolveCursorConnection<Promise<Task[]>>>> & { changeCursor: number | null; count: () => Promise<number> };
type SelectionInfo = Pick<GraphQLResolveInfo, 'fieldNodes' | 'fragments'>;

/** A job's devices connection: the page, and its count when selected (read beside the page). */
async function devicesConnection(context: GraphQLContext, jobId: string, args: DevicesArgs, info: SelectionInfo): Promise<DevicesConnection> {
  assertPageSize(args);
  const filter: TaskFilter = args;
  let normalised: TaskFilter;
  try {
    normalised = normaliseTaskFilter(filter);
  } catch (error) {
    throw asBadUserInput(error);
  }
  // Read before the rows, so that following jobDeviceUpdates from it misses nothing the page lacks.
  // Only when asked for: it is two more queries per connection.
  const changeCursor = selectsField(info, 'changeCursor') ? await currentChangeSeq(context.services.db, jobId) : null;
  const countNow = isWholeTab(normalised) ? () => wholeTabCount(context.loaders, jobId, normalised) : () => countTasks(context.services.db, jobId, normalised);
  // A count asked for is read beside the page rather than after it (one round trip less); a
  // failure still reaches totalCount, and none is left unhandled if the page fails first.
  const counting = selectsField(info, 'totalCount') ? countNow() : null;
  counting?.catch(() => {});
  const connection = await resolveCursorConnection(
    { args, toCursor: (task: Task) => task.deviceKey, defaultSize: 50, maxSize: MAX_PAGE_SIZE },
    (page: ResolveCursorConnectionArgs) => searchTasks(context.services.db, jobId, normalised, page, taskColumnsSelected(info)),
  );
  const count = counting ? () => counting : countNow;
  return Object.assign(connection, { changeCursor, count });
}

/**
 * While `job(id:)` looks its job up, the devices connections selected on it (directly or through
 * fragments, without directives) start their reads with the arguments they will be given
 * (schema/prefetch.ts: used only if the job is found in the caller's unit and the arguments match).
 */
registerPrefetcher('OtaJob', (context, jobId, info) => {
  const devicesField = (info.schema.getType('OtaJob') as GraphQLObjectType).getFields().devices;
  const visit = (set: SelectionSetNode | undefined): void => {
    for (const selection of set?.selections ?? []) {
      if (selection.directives?.length) continue;
      if (selection.kind === Kind.INLINE_FRAGMENT) visit(selection.selectionSet);
      else if (selection.kind === Kind.FRAGMENT_SPREAD) visit(info.fragments[selection.name.value]?.selectionSet);
      else if (selection.name.value === 'devices') {
        let args: DevicesArgs;
        try {
          args = getArgumentValues(devicesField, selection, info.variableValues) as DevicesArgs;
        } catch {
          continue; // the resolver reports it
        }
        keepPrefetched(context, selection, jobId, args, devicesConnection(context, jobId, args, { fieldNodes: [selection], fragments: info.fragments }));
      }
    }
  };
  for (const node of info.fieldNodes) visit(node.selectionSet);
});

builder.drizzleObjectField(OtaJob, 'devices', (t) =>
  t.connection(
    {
      type: JobDevice,
      description: "The job's devices in device-key order, filtered by tab and searches.",
      args: jobDevicesArgs,
      select: { columns: { id: true, status: true } },
      resolve: (job, args, context, info) => {
        context.loaders.jobStatus.prime(job.id, job.status);
        return takePrefetched<DevicesConnection>(context, info, job.id, args) ?? devicesConnection(context, job.id, args, info);
      },
    },
    {
      name: 'JobDeviceConnection',
      fields: (c) => ({
        totalCount: c.int({
          description: 'Devices matching the filters, across all pages.',
          resolve: (connection) => (connection as unknown as { count: () => Promise<number> }).count(),
        }),
        changeCursor: c.string({
          description:
            "The job's change cursor as of just before this page was read: subscribe to jobDeviceUpdates with `after: changeCursor` to receive every change this page may not show yet.",
          resolve: (connection) => String((connection as unknown as { changeCursor: number }).changeCursor),
        }),
      }),
    },
    { name: 'JobDeviceEdge' },
  ),
);

function asBadUserInput(error: unknown): unknown {
  if (!(error instanceof InvalidInputError)) return error;
  return new GraphQLError(error.message, { extensions: { code: 'BAD_USER_INPUT', issues: error.issues } });
}
