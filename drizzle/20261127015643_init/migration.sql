CREATE TYPE "failure_reason" AS ENUM('CANCELLED_BY_USER', 'DEVICE_IGNORED', 'VERSION_NOT_IN_SCOPE', 'WRITE_FAILED', 'DOWNLOAD_FAILED', 'VERIFICATION_FAILED', 'LAST_UPGRADE_IN_PROGRESS', 'DEVICE_NOT_FOUND', 'UNDEFINED', 'TIMEOUT');--> statement-breakpoint
CREATE TYPE "ota_job_policy" AS ENUM('SNAPSHOT', 'INCREMENTAL');--> statement-breakpoint
CREATE TYPE "ota_job_status" AS ENUM('SCHEDULED', 'RUNNING', 'STOPPED', 'FINISHED', 'CANCELLED');--> statement-breakpoint
CREATE TYPE "ota_job_type" AS ENUM('VERIFICATION', 'UPGRADE');--> statement-breakpoint
CREATE TYPE "permission" AS ENUM('FIRMWARE_READ', 'FIRMWARE_WRITE', 'FIRMWARE_DELETE', 'OTA_READ', 'OTA_CREATE', 'OTA_CONTROL', 'DEVICE_READ', 'DEVICE_WRITE', 'OU_ADMIN');--> statement-breakpoint
CREATE TYPE "sign_method" AS ENUM('MD5', 'SHA256');--> statement-breakpoint
CREATE TYPE "ota_target_mode" AS ENUM('ALL', 'DEVICE_KEYS');--> statement-breakpoint
CREATE TYPE "upgrade_status" AS ENUM('TO_BE_PUSHED', 'PUSHED', 'IN_PROGRESS', 'SUCCEEDED', 'FAILED');--> statement-breakpoint
CREATE TYPE "waiting_reason" AS ENUM('OFFLINE', 'CONCURRENCY_LIMIT', 'OUTSIDE_WINDOW', 'RATE_LIMIT', 'JOB_STOPPED', 'SCHEDULED', 'RETRY_INTERVAL');--> statement-breakpoint
CREATE SEQUENCE "public"."task_change_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1;--> statement-breakpoint
CREATE TABLE "devices" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	"ou_id" uuid NOT NULL,
	"product_id" uuid NOT NULL,
	"device_key" text COLLATE "C" NOT NULL,
	"name" text DEFAULT '' NOT NULL,
	"secret_hash" text NOT NULL,
	"firmware_version" text,
	"online" boolean DEFAULT false NOT NULL,
	"last_seen_at" timestamp with time zone,
	"tags" jsonb DEFAULT '{}' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "devices_product_id_device_key_unique" UNIQUE("product_id","device_key")
);
--> statement-breakpoint
CREATE TABLE "firmwares" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	"ou_id" uuid NOT NULL,
	"product_id" uuid NOT NULL,
	"name" text NOT NULL,
	"version" text NOT NULL,
	"sign_method" "sign_method" NOT NULL,
	"sign" text NOT NULL,
	"size" bigint NOT NULL,
	"storage_key" text NOT NULL,
	"file_name" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"require_verification" boolean DEFAULT false NOT NULL,
	"verified" boolean DEFAULT false NOT NULL,
	"verified_at" timestamp with time zone,
	"min_success_for_verified" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"created_by" uuid,
	"deleted_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "job_edits" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	"ou_id" uuid NOT NULL,
	"job_id" uuid NOT NULL,
	"edited_by" uuid,
	"edited_by_name" text NOT NULL,
	"edited_at" timestamp with time zone DEFAULT now() NOT NULL,
	"changes" jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "job_task_removals" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "job_task_removals_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"job_id" uuid NOT NULL,
	"task_id" bigint NOT NULL,
	"device_key" text COLLATE "C" NOT NULL,
	"change_seq" bigint DEFAULT nextval('task_change_seq') NOT NULL,
	"removed_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "job_tasks" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "job_tasks_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"ou_id" uuid NOT NULL,
	"job_id" uuid NOT NULL,
	"device_id" uuid,
	"device_key" text COLLATE "C" NOT NULL,
	"status" "upgrade_status" DEFAULT 'TO_BE_PUSHED'::"upgrade_status" NOT NULL,
	"progress" smallint DEFAULT 0 NOT NULL,
	"failure_reason" "failure_reason",
	"failure_detail" text,
	"waiting_reason" "waiting_reason",
	"src_version" text,
	"current_version" text,
	"attempt" integer DEFAULT 1 NOT NULL,
	"push_message_id" text,
	"pushed_at" timestamp with time zone,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"failed_at" timestamp with time zone,
	"timeout_at" timestamp with time zone,
	"next_attempt_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"change_seq" bigint DEFAULT nextval('task_change_seq') NOT NULL,
	CONSTRAINT "job_tasks_job_id_device_key_unique" UNIQUE("job_id","device_key")
);
--> statement-breakpoint
CREATE TABLE "organisation_units" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	"name" text NOT NULL UNIQUE,
	"concurrency_cap" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "ota_jobs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	"ou_id" uuid NOT NULL,
	"product_id" uuid NOT NULL,
	"firmware_id" uuid NOT NULL,
	"type" "ota_job_type" NOT NULL,
	"name" text NOT NULL,
	"status" "ota_job_status" NOT NULL,
	"status_reason" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"created_by" uuid,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"target_mode" "ota_target_mode" NOT NULL,
	"target_device_keys" text[] DEFAULT '{}'::text[] NOT NULL,
	"src_versions" text[] DEFAULT '{}'::text[] NOT NULL,
	"target_tags" jsonb DEFAULT '[]' NOT NULL,
	"policy" "ota_job_policy" DEFAULT 'SNAPSHOT'::"ota_job_policy" NOT NULL,
	"max_concurrency" integer DEFAULT 300 NOT NULL,
	"timeout_minutes" integer DEFAULT 120 NOT NULL,
	"retry_count" integer DEFAULT 0 NOT NULL,
	"retry_interval_minutes" integer DEFAULT 0 NOT NULL,
	"schedule_start_at" timestamp with time zone,
	"schedule_end_at" timestamp with time zone,
	"daily_window_start_minute" integer,
	"daily_window_end_minute" integer,
	"schedule_timezone" text DEFAULT 'UTC' NOT NULL,
	"push_rate_per_minute" integer,
	"abort_threshold_percent" integer,
	"abort_min_finished" integer
);
--> statement-breakpoint
CREATE TABLE "products" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	"ou_id" uuid NOT NULL,
	"product_key" text COLLATE "C" NOT NULL UNIQUE,
	"name" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "users" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	"ou_id" uuid NOT NULL,
	"username" text NOT NULL UNIQUE,
	"display_name" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "devices_ou_id_device_key_index" ON "devices" ("ou_id","device_key");--> statement-breakpoint
CREATE INDEX "devices_product_id_firmware_version_index" ON "devices" ("product_id","firmware_version");--> statement-breakpoint
CREATE INDEX "devices_tags_index" ON "devices" USING gin ("tags");--> statement-breakpoint
CREATE UNIQUE INDEX "firmwares_product_name_live" ON "firmwares" ("product_id","name") WHERE deleted_at is null;--> statement-breakpoint
CREATE UNIQUE INDEX "firmwares_product_version_live" ON "firmwares" ("product_id","version") WHERE deleted_at is null;--> statement-breakpoint
CREATE INDEX "firmwares_ou_id_created_at_index" ON "firmwares" ("ou_id","created_at");--> statement-breakpoint
CREATE INDEX "job_edits_job_id_edited_at_index" ON "job_edits" ("job_id","edited_at");--> statement-breakpoint
CREATE INDEX "job_task_removals_job_id_change_seq_index" ON "job_task_removals" ("job_id","change_seq");--> statement-breakpoint
CREATE INDEX "job_tasks_tab" ON "job_tasks" ("job_id","status","device_key");--> statement-breakpoint
CREATE INDEX "job_tasks_failed_reason" ON "job_tasks" ("job_id","failure_reason","device_key") WHERE status = 'FAILED';--> statement-breakpoint
CREATE INDEX "job_tasks_failed_version" ON "job_tasks" ("job_id","current_version","device_key") WHERE status = 'FAILED';--> statement-breakpoint
CREATE INDEX "job_tasks_failed_at" ON "job_tasks" ("job_id","failed_at") WHERE status = 'FAILED';--> statement-breakpoint
CREATE INDEX "job_tasks_changes" ON "job_tasks" ("job_id","change_seq");--> statement-breakpoint
CREATE INDEX "job_tasks_active_device" ON "job_tasks" ("device_id") WHERE status in ('PUSHED', 'IN_PROGRESS');--> statement-breakpoint
CREATE INDEX "job_tasks_timeout" ON "job_tasks" ("timeout_at") WHERE status in ('PUSHED', 'IN_PROGRESS');--> statement-breakpoint
CREATE INDEX "ota_jobs_ou_id_created_at_index" ON "ota_jobs" ("ou_id","created_at");--> statement-breakpoint
CREATE INDEX "ota_jobs_ou_id_status_index" ON "ota_jobs" ("ou_id","status");--> statement-breakpoint
CREATE INDEX "ota_jobs_product_id_index" ON "ota_jobs" ("product_id");--> statement-breakpoint
CREATE INDEX "ota_jobs_firmware_id_index" ON "ota_jobs" ("firmware_id");--> statement-breakpoint
CREATE INDEX "products_ou_id_product_key_index" ON "products" ("ou_id","product_key");--> statement-breakpoint
CREATE INDEX "users_ou_id_index" ON "users" ("ou_id");--> statement-breakpoint
ALTER TABLE "devices" ADD CONSTRAINT "devices_ou_id_organisation_units_id_fkey" FOREIGN KEY ("ou_id") REFERENCES "organisation_units"("id");--> statement-breakpoint
ALTER TABLE "devices" ADD CONSTRAINT "devices_product_id_products_id_fkey" FOREIGN KEY ("product_id") REFERENCES "products"("id");--> statement-breakpoint
ALTER TABLE "firmwares" ADD CONSTRAINT "firmwares_ou_id_organisation_units_id_fkey" FOREIGN KEY ("ou_id") REFERENCES "organisation_units"("id");--> statement-breakpoint
ALTER TABLE "firmwares" ADD CONSTRAINT "firmwares_product_id_products_id_fkey" FOREIGN KEY ("product_id") REFERENCES "products"("id");--> statement-breakpoint
ALTER TABLE "firmwares" ADD CONSTRAINT "firmwares_created_by_users_id_fkey" FOREIGN KEY ("created_by") REFERENCES "users"("id");--> statement-breakpoint
ALTER TABLE "job_edits" ADD CONSTRAINT "job_edits_job_id_ota_jobs_id_fkey" FOREIGN KEY ("job_id") REFERENCES "ota_jobs"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "job_edits" ADD CONSTRAINT "job_edits_edited_by_users_id_fkey" FOREIGN KEY ("edited_by") REFERENCES "users"("id");--> statement-breakpoint
ALTER TABLE "job_task_removals" ADD CONSTRAINT "job_task_removals_job_id_ota_jobs_id_fkey" FOREIGN KEY ("job_id") REFERENCES "ota_jobs"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "job_tasks" ADD CONSTRAINT "job_tasks_job_id_ota_jobs_id_fkey" FOREIGN KEY ("job_id") REFERENCES "ota_jobs"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "job_tasks" ADD CONSTRAINT "job_tasks_device_id_devices_id_fkey" FOREIGN KEY ("device_id") REFERENCES "devices"("id") ON DELETE SET NULL;--> statement-breakpoint
ALTER TABLE "ota_jobs" ADD CONSTRAINT "ota_jobs_ou_id_organisation_units_id_fkey" FOREIGN KEY ("ou_id") REFERENCES "organisation_units"("id");--> statement-breakpoint
ALTER TABLE "ota_jobs" ADD CONSTRAINT "ota_jobs_product_id_products_id_fkey" FOREIGN KEY ("product_id") REFERENCES "products"("id");--> statement-breakpoint
ALTER TABLE "ota_jobs" ADD CONSTRAINT "ota_jobs_firmware_id_firmwares_id_fkey" FOREIGN KEY ("firmware_id") REFERENCES "firmwares"("id");--> statement-breakpoint
ALTER TABLE "ota_jobs" ADD CONSTRAINT "ota_jobs_created_by_users_id_fkey" FOREIGN KEY ("created_by") REFERENCES "users"("id");--> statement-breakpoint
ALTER TABLE "products" ADD CONSTRAINT "products_ou_id_organisation_units_id_fkey" FOREIGN KEY ("ou_id") REFERENCES "organisation_units"("id");--> statement-breakpoint
ALTER TABLE "users" ADD CONSTRAINT "users_ou_id_organisation_units_id_fkey" FOREIGN KEY ("ou_id") REFERENCES "organisation_units"("id");