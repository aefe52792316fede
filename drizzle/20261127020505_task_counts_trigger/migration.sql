-- Keeps job_task_counts equal to
--   select job_id, status, coalesce(failure_reason::text, ''), count(*) from job_tasks group by 1, 2, 3
-- in the transaction of every change to job_tasks, whatever code makes it. Statement-level triggers
-- with transition tables: one aggregate per statement, not one write per row. Counter rows are
-- upserted in key order so that concurrent statements lock them in the same order.
CREATE FUNCTION job_task_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO job_task_counts (job_id, status, reason, n)
    SELECT job_id, status, coalesce(failure_reason::text, ''), count(*)
    FROM new_rows GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (job_id, status, reason) DO UPDATE SET n = job_task_counts.n + excluded.n;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO job_task_counts (job_id, status, reason, n)
    SELECT job_id, status, coalesce(failure_reason::text, ''), -count(*)
    FROM old_rows GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
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
--> statement-breakpoint
CREATE TRIGGER job_task_counts_insert AFTER INSERT ON job_tasks
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION job_task_counts_apply();
--> statement-breakpoint
CREATE TRIGGER job_task_counts_update AFTER UPDATE ON job_tasks
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION job_task_counts_apply();
--> statement-breakpoint
CREATE TRIGGER job_task_counts_delete AFTER DELETE ON job_tasks
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION job_task_counts_apply();
--> statement-breakpoint
INSERT INTO job_task_counts (job_id, status, reason, n)
SELECT job_id, status, coalesce(failure_reason::text, ''), count(*) FROM job_tasks GROUP BY 1, 2, 3;
