-- The change-order lock of task_change_order, for a statement that changes the tasks of several
-- jobs at once. The row trigger takes each job's lock as it reaches the job's first row, in the
-- order the statement happens to visit them; two such statements over the same jobs could then
-- wait for each other. The one task writer (server/src/domain/tasks/write.ts) calls this first, so
-- every such statement takes the locks in job-id order, and the trigger finds them held. The lock
-- key is the trigger's (727002, hashtext(job_id)): TypeScript never names it.
CREATE FUNCTION lock_task_change_order(job_ids uuid[]) RETURNS void LANGUAGE sql AS $$
  SELECT pg_advisory_xact_lock(727002, hashtext(id::text)) FROM (SELECT DISTINCT unnest(job_ids) AS id ORDER BY 1) jobs;
$$;
