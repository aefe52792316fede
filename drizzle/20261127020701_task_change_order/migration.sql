-- Task change sequence numbers in commit order, per job.
--
-- Subscribers resume from a cursor: "every change of this job with change_seq > N". That is only
-- gap-free if, within a job, a change with a lower number is never committed after one with a
-- higher number has become visible. So every change to a job's tasks first takes a
-- transaction-scoped advisory lock on the job, and only then draws its number: the next writer of
-- the same job draws its numbers after this one has committed. Done here, in a trigger, so that no
-- code path (domain functions, engine, fixtures) can forget it. Writers of different jobs do not
-- wait for each other.
CREATE FUNCTION job_tasks_order_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    PERFORM pg_advisory_xact_lock(727002, hashtext(OLD.job_id::text));
    RETURN OLD;
  END IF;
  PERFORM pg_advisory_xact_lock(727002, hashtext(NEW.job_id::text));
  NEW.change_seq := nextval('task_change_seq');
  RETURN NEW;
END
$$;
--> statement-breakpoint
CREATE TRIGGER job_tasks_order_change BEFORE INSERT OR UPDATE OR DELETE ON job_tasks
  FOR EACH ROW EXECUTE FUNCTION job_tasks_order_change();
--> statement-breakpoint
CREATE FUNCTION job_task_removals_order_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(727002, hashtext(NEW.job_id::text));
  NEW.change_seq := nextval('task_change_seq');
  RETURN NEW;
END
$$;
--> statement-breakpoint
CREATE TRIGGER job_task_removals_order_change BEFORE INSERT ON job_task_removals
  FOR EACH ROW EXECUTE FUNCTION job_task_removals_order_change();
