CREATE TABLE "job_task_counts" (
	"job_id" uuid,
	"status" "upgrade_status",
	"reason" text DEFAULT '',
	"n" integer NOT NULL,
	CONSTRAINT "job_task_counts_pkey" PRIMARY KEY("job_id","status","reason")
);
--> statement-breakpoint
ALTER TABLE "job_task_counts" ADD CONSTRAINT "job_task_counts_job_id_ota_jobs_id_fkey" FOREIGN KEY ("job_id") REFERENCES "ota_jobs"("id") ON DELETE CASCADE;