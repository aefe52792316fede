/** Coloured labels for job and device statuses. */
import { JOB_STATUS_LABELS, JOB_TYPE_LABELS, STATUS_LABELS, type JobStatus, type JobType, type UpgradeStatus } from '../labels';

const JOB_TONES: Record<JobStatus, string> = {
  SCHEDULED: 'info',
  RUNNING: 'active',
  STOPPED: 'warning',
  FINISHED: 'success',
  CANCELLED: 'muted',
  WAITING_FOR_APPROVAL: 'warning',
};

const TASK_TONES: Record<UpgradeStatus, string> = {
  TO_BE_PUSHED: 'muted',
  PUSHED: 'info',
  IN_PROGRESS: 'active',
  SUCCEEDED: 'success',
  FAILED: 'danger',
};

export function JobStatusBadge(props: { status: JobStatus }) {
  return <span class={`badge badge-${JOB_TONES[props.status]}`}>{JOB_STATUS_LABELS[props.status]}</span>;
}

export function TaskStatusBadge(props: { status: UpgradeStatus }) {
  return <span class={`badge badge-${TASK_TONES[props.status]}`}>{STATUS_LABELS[props.status]}</span>;
}

export function JobTypeTag(props: { type: JobType }) {
  return <span class="tag">{JOB_TYPE_LABELS[props.type]}</span>;
}

export function OnlineDot(props: { online: boolean }) {
  return (
    <span class={`online ${props.online ? 'is-online' : 'is-offline'}`}>
      <span class="dot" aria-hidden="true" />
      {props.online ? 'Online' : 'Offline'}
    </span>
  );
}
