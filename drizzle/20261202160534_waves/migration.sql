CREATE TYPE "wave_status" AS ENUM('PENDING', 'RUNNING', 'SOAKING', 'WAITING_FOR_APPROVAL', 'PASSED', 'FAILED');--> statement-breakpoint
ALTER TYPE "ota_job_status" ADD VALUE 'WAITING_FOR_APPROVAL';--> statement-breakpoint
ALTER TYPE "waiting_reason" ADD VALUE 'WAVE_NOT_STARTED';--> statement-breakpoint
ALTER TYPE "waiting_reason" ADD VALUE 'WAITING_FOR_APPROVAL';--> statement-breakpoint
CREATE TABLE "job_rollout_decisions" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "job_rollout_decisions_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"ou_id" uuid NOT NULL,
	"job_id" uuid NOT NULL,
	"wave_index" smallint NOT NULL,
	"kind" text NOT NULL,
	"actor" text NOT NULL,
	"actor_user_id" uuid,
	"reason" text NOT NULL,
	"decided_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "job_wave_counts" (
	"job_id" uuid,
	"wave_index" smallint,
	"status" "upgrade_status",
	"reason" text DEFAULT '',
	"n" integer NOT NULL,
	CONSTRAINT "job_wave_counts_pkey" PRIMARY KEY("job_id","wave_index","status","reason")
);
--> statement-breakpoint
CREATE TABLE "job_waves" (
	"job_id" uuid,
	"index" smallint,
	"ou_id" uuid NOT NULL,
	"name" text NOT NULL,
	"select_percent" integer,
	"select_count" integer,
	"select_tags" jsonb,
	"success_threshold_percent" integer NOT NULL,
	"error_threshold_percent" integer,
	"error_min_finished" integer DEFAULT 1 NOT NULL,
	"soak_minutes" integer DEFAULT 0 NOT NULL,
	"approval_required" boolean DEFAULT false NOT NULL,
	"status" "wave_status" DEFAULT 'PENDING'::"wave_status" NOT NULL,
	"started_at" timestamp with time zone,
	"threshold_reached_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"approved_at" timestamp with time zone,
	"approved_by" text,
	CONSTRAINT "job_waves_pkey" PRIMARY KEY("job_id","index")
);
--> statement-breakpoint
ALTER TABLE "job_tasks" ADD COLUMN "wave_index" smallint;--> statement-breakpoint
ALTER TABLE "job_tasks" ADD COLUMN "wave_order" integer;--> statement-breakpoint
ALTER TABLE "ota_jobs" ADD COLUMN "active_wave" integer;--> statement-breakpoint
ALTER TABLE "ota_jobs" ADD COLUMN "rollout_seed" integer;--> statement-breakpoint
ALTER TABLE "ota_jobs" ADD COLUMN "canary_device_keys" text[] DEFAULT '{}'::text[] NOT NULL;--> statement-breakpoint
CREATE INDEX "job_rollout_decisions_job_id_id_index" ON "job_rollout_decisions" ("job_id","id");--> statement-breakpoint
CREATE INDEX "job_tasks_wave_push" ON "job_tasks" ("job_id","wave_index","wave_order") WHERE status = 'TO_BE_PUSHED' and wave_index is not null;--> statement-breakpoint
CREATE INDEX "job_tasks_wave_tab" ON "job_tasks" ("job_id","wave_index","status","device_key") WHERE wave_index is not null;--> statement-breakpoint
ALTER TABLE "job_rollout_decisions" ADD CONSTRAINT "job_rollout_decisions_job_id_ota_jobs_id_fkey" FOREIGN KEY ("job_id") REFERENCES "ota_jobs"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "job_rollout_decisions" ADD CONSTRAINT "job_rollout_decisions_actor_user_id_users_id_fkey" FOREIGN KEY ("actor_user_id") REFERENCES "users"("id");--> statement-breakpoint
ALTER TABLE "job_wave_counts" ADD CONSTRAINT "job_wave_counts_job_id_ota_jobs_id_fkey" FOREIGN KEY ("job_id") REFERENCES "ota_jobs"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "job_waves" ADD CONSTRAINT "job_waves_job_id_ota_jobs_id_fkey" FOREIGN KEY ("job_id") REFERENCES "ota_jobs"("id") ON DELETE CASCADE;