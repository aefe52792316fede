-- Keeps job_wave_counts equal to
--   select job_id, wave_index, status, coalesce(failure_reason::text, ''), count(*)
--   from job_tasks where wave_index is not null group by 1, 2, 3, 4
-- in the transaction of every change to job_tasks, as job_task_counts_apply does for the job's
-- counts: statement-level, one aggregate per statement, counter rows upserted in key order. Tasks of
-- jobs without a rollout plan (wave_index null) cost one scan of the transition table.
CREATE FUNCTION job_wave_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO job_wave_counts (job_id, wave_index, status, reason, n)
    SELECT job_id, wave_index, status, coalesce(failure_reason::text, ''), count(*)
    FROM new_rows WHERE wave_index IS NOT NULL GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT (job_id, wave_index, status, reason) DO UPDATE SET n = job_wave_counts.n + excluded.n;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO job_wave_counts (job_id, wave_index, status, reason, n)
    SELECT job_id, wave_index, status, coalesce(failure_reason::text, ''), -count(*)
    FROM old_rows WHERE wave_index IS NOT NULL AND EXISTS (SELECT 1 FROM ota_jobs WHERE ota_jobs.id = old_rows.job_id)
    GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT (job_id, wave_index, status, reason) DO UPDATE SET n = job_wave_counts.n + excluded.n;
  ELSE
    INSERT INTO job_wave_counts (job_id, wave_index, status, reason, n)
    SELECT job_id, wave_index, status, reason, sum(delta)
    FROM (
      SELECT job_id, wave_index, status, coalesce(failure_reason::text, '') AS reason, 1 AS delta FROM new_rows WHERE wave_index IS NOT NULL
      UNION ALL
      SELECT job_id, wave_index, status, coalesce(failure_reason::text, ''), -1 FROM old_rows WHERE wave_index IS NOT NULL
    ) changes
    GROUP BY 1, 2, 3, 4 HAVING sum(delta) <> 0 ORDER BY 1, 2, 3, 4
    ON CONFLICT (job_id, wave_index, status, reason) DO UPDATE SET n = job_wave_counts.n + excluded.n;
  END IF;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER job_wave_counts_insert AFTER INSERT ON job_tasks
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION job_wave_counts_apply();
--> statement-breakpoint
CREATE TRIGGER job_wave_counts_update AFTER UPDATE ON job_tasks
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION job_wave_counts_apply();
--> statement-breakpoint
CREATE TRIGGER job_wave_counts_delete AFTER DELETE ON job_tasks
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION job_wave_counts_apply();
