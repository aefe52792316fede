-- Deleting a job cascades to its tasks; their delete trigger must not count for a job that no
-- longer exists (its counter rows go with it). Same function as task_counts_trigger otherwise.
CREATE OR REPLACE FUNCTION job_task_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO job_task_counts (job_id, status, reason, n)
    SELECT job_id, status, coalesce(failure_reason::text, ''), count(*)
    FROM new_rows GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (job_id, status, reason) DO UPDATE SET n = job_task_counts.n + excluded.n;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO job_task_counts (job_id, status, reason, n)
    SELECT job_id, status, coalesce(failure_reason::text, ''), -count(*)
    FROM old_rows WHERE EXISTS (SELECT 1 FROM ota_jobs WHERE ota_jobs.id = old_rows.job_id)
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (job_id, status, reason) DO UPDATE SET n = job_task_counts.n + excluded.n;
  ELSE
    INSERT INTO job_task_counts (job_id, status, reason, n)
    SELECT job_id, status, reason, sum(delta)
    FROM (
      SELECT job_id, status, coalesce(failure_reason::text, '') AS reason, 1 AS delta FROM new_rows
      UNION ALL
      SELECT job_id, status, coalesce(failure_reason::text, ''), -1 FROM old_rows
    ) changes
    GROUP BY 1, 2, 3 HAVING sum(delta) <> 0 ORDER BY 1, 2, 3
    ON CONFLICT (job_id, status, reason) DO UPDATE SET n = job_task_counts.n + excluded.n;
  END IF;
  RETURN NULL;
END
$$;
