/** The dashboard's live documents (web/src/pages/job/documents.ts), as the job details page opens them. */

const ROW = 'deviceKey status progress failureReason failureReasonText failureDetail waitingReason currentVersion pushedAt failedAt updatedAt';

export const JOB_DEVICE_UPDATES = `subscription JobDeviceUpdates($jobId: ID!, $status: UpgradeStatus) {
  jobDeviceUpdates(jobId: $jobId, status: $status) { cursor devices { ${ROW} } otherDeviceKeys removedDeviceKeys }
}`;

export const JOB_PROGRESS = `subscription JobDetailsLive($jobId: ID!) {
  jobProgress(jobId: $jobId) {
    id name type status progress deviceCount createdAt startedAt finishedAt updatedAt editable editableFields notEditableReason
    statusCounts { toBePushed pushed inProgress succeeded failed }
    failureReasonCounts { reason count }
    timeoutMinutes maxConcurrency srcVersions policy pushRatePerMinute
  }
}`;

export const globalJobId = (jobId: string) => Buffer.from(`OtaJob:${jobId}`).toString('base64');
