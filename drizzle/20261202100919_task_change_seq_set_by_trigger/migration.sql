ALTER TABLE "job_task_removals" ALTER COLUMN "change_seq" SET DEFAULT 0;--> statement-breakpoint
ALTER TABLE "job_tasks" ALTER COLUMN "change_seq" SET DEFAULT 0;